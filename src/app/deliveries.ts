import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import type { Forge, RepoRef } from '../forge/forge.js';
import { resolvePreviewLabel, type PreviewLabels } from '../pipeline/label.js';
import type { Platform } from '../platforms/platform.js';
import type { BackgroundTask } from './background.js';
import { cleanupTask, type CleanupPlan, type RecentCloses } from './cleanup.js';
import { agentNameOfManifest, type RepoConfig } from '../previews/repo-config.js';
import { formatSourceRepo, sourceRepoFromWebUrl, type SourceRepo } from '../pipeline/source-repo.js';

/** A pull request as the forge answers for it now: its state, and the branch and commit it was at. */
export interface PullRequestNow {
  state: 'open' | 'closed';
  headRef: string;
  headSha: string;
}

/** How one forge's delivery reaches the repository behind it; GitHub and Gitea differ only here. */
export interface RepoAccess {
  /** The repository as the forge itself names it (its `html_url`), not as the delivery says. */
  repo: SourceRepo;
  repoRef: RepoRef;
  loadConfig(signal: AbortSignal): Promise<RepoConfig>;
  /** A file's text on the default branch; undefined when it does not exist. */
  readFile(path: string, signal: AbortSignal): Promise<string | undefined>;
  /** The pull request now, asked of the forge with the delivering door's own credentials. */
  pullRequest(number: number, signal: AbortSignal): Promise<PullRequestNow>;
  branchExists(branch: string, signal: AbortSignal): Promise<boolean>;
  /** The numbers of the repository's open pull requests whose head is this branch of this repository. */
  openPullRequestsOn(branch: string, signal: AbortSignal): Promise<number[]>;
  forge(signal: AbortSignal): Promise<Forge | undefined>;
}

/** A delivery the receiving door does not serve (another host, another installation, an unknown pull request): never retried. */
export class DeliveryRefused extends InputError {
  override name = 'DeliveryRefused';
}

export type PlatformFor = (name: string | undefined) => Platform;

/**
 * One acknowledged teardown, as plain data: it can wait in memory or in Redis (`durable.ts`), and any
 * replica can run it, because the door that received it rebuilds its forge access from these fields.
 * It carries nothing the forge is later asked about (a PR's branch or commit): those come from the
 * forge's own answer when the job runs.
 */
export type TeardownJob = DeliveredRepo & {
  deliveryId: string;
  /** SHA-256 of the signed body: a replay under a fresh delivery id is the same body. */
  bodyDigest?: string;
} & ({ event: 'pull_request.closed'; number: number } | { event: 'branch.deleted'; branch: string });

export type DoorName = 'github' | 'gitea';

/** A repository as a delivery names it: `owner.login` (Gitea also sends `owner.username`), `name`, `html_url`. */
export interface RepositoryRef {
  owner: string;
  name: string;
  htmlUrl: string;
}

/** Which repository a delivery names, through which door, and (a GitHub App) under which installation. */
export interface DeliveredRepo {
  door: DoorName;
  /** The GitHub App installation the delivery names; absent for Gitea and for a token-run app. */
  installationId?: number;
  repository: RepositoryRef;
}

/** Builds a door's forge access for a delivered repository; refuses (InputError) a repository the door does not serve. */
export type AccessFor = (delivered: DeliveredRepo, signal: AbortSignal) => Promise<RepoAccess>;

/** Teardowns of one repository's pull request or branch run one after another, whichever delivery asked. */
export function teardownKey(job: TeardownJob): string {
  const repo = `${job.door}:${job.repository.htmlUrl.toLowerCase()}`;
  return job.event === 'pull_request.closed' ? `${repo}#pr-${job.number}` : `${repo}@${job.branch}`;
}

export function describeTeardown(job: TeardownJob): string {
  const source = sourceRepoFromWebUrl(job.repository.htmlUrl);
  const repo = source ? formatSourceRepo({ ...source, owner: job.repository.owner, repo: job.repository.name }) : `${job.repository.owner}/${job.repository.name}`;
  return job.event === 'pull_request.closed'
    ? `teardown of ${repo}#${job.number} (delivery ${job.deliveryId})`
    : `teardown of ${repo} branch ${job.branch} (delivery ${job.deliveryId})`;
}

export interface TeardownTaskOptions {
  log: Logger;
  accessFor: AccessFor;
  platformFor: PlatformFor;
  /** The same pull request's or branch's recent closes, answered without asking the forge again. */
  recent?: RecentCloses;
}

/**
 * The work of one job. Nothing is deleted on the delivery's word alone: on every attempt the forge
 * is asked, with the door's own credentials, whether the pull request is closed (or the branch gone)
 * right now, and the branch and commit the labels are made from are the forge's, so a forged,
 * replayed or stale delivery of an open pull request deletes nothing, and a retry after a reopen
 * stops.
 */
export function teardownTask(job: TeardownJob, options: TeardownTaskOptions): BackgroundTask {
  const { log } = options;
  const what = describeTeardown(job);
  return {
    lane: job.door,
    ...cleanupTask({
      key: teardownKey(job),
      what,
      log,
      recent: options.recent,
      async plan(signal) {
        const access = await options.accessFor(job, signal);
        const context: PlanContext = { access, log, what, platformFor: options.platformFor, signal };
        return job.event === 'pull_request.closed' ? planPullRequestClose(context, job.number) : planBranchDelete(context, job.branch);
      },
    }),
  };
}

interface PlanContext {
  access: RepoAccess;
  log: Logger;
  what: string;
  platformFor: PlatformFor;
  signal: AbortSignal;
}

async function planPullRequestClose(context: PlanContext, number: number): Promise<CleanupPlan | undefined> {
  const { access, log, what, signal } = context;
  const repo = formatSourceRepo(access.repo);
  const pull = await access.pullRequest(number, signal);
  if (pull.state !== 'closed') {
    log.warn({ repo, pull: number, state: pull.state }, `${what}: the forge says pull request #${number} is ${pull.state}; nothing is deleted`);
    return undefined;
  }
  const config = await access.loadConfig(signal);
  const platform = context.platformFor(config.platform);
  if (labelSharedByBranch(config.labelTemplate)) {
    const user = await branchStillUsed(access, pull.headRef, number, signal);
    if (user) {
      log.info({ repo, pull: number, branch: pull.headRef }, `${what}: ${user}; its branch preview is kept`);
      return undefined;
    }
  }
  const labels = resolvePreviewLabel(config.labelTemplate, { number, branch: pull.headRef, sha: pull.headSha }, 'preview-label', platform.labelRule, access.repo);
  return planFor(context, config, platform, labels, number, pull.headSha);
}

async function planBranchDelete(context: PlanContext, branch: string): Promise<CleanupPlan | undefined> {
  const { access, log, what, signal } = context;
  const config = await access.loadConfig(signal);
  if (!labelSharedByBranch(config.labelTemplate) || /\{sha\}/.test(config.labelTemplate)) return undefined;
  const user = await branchStillUsed(access, branch, undefined, signal);
  if (user) {
    log.warn({ repo: formatSourceRepo(access.repo), branch }, `${what}: ${user}; nothing is deleted`);
    return undefined;
  }
  const platform = context.platformFor(config.platform);
  const labels = resolvePreviewLabel(config.labelTemplate, { branch }, 'preview-label', platform.labelRule, access.repo);
  return planFor(context, config, platform, labels, undefined);
}

/** A template naming the branch but not the pull request: every pull request of a branch shares the label. */
function labelSharedByBranch(template: string): boolean {
  return template.includes('{branch}') && !template.includes('{number}');
}

/** Why a branch's previews are still wanted (the branch exists, an open pull request is on it), or undefined. */
async function branchStillUsed(access: RepoAccess, branch: string, closing: number | undefined, signal: AbortSignal): Promise<string | undefined> {
  if (await access.branchExists(branch, signal)) return `the forge says branch ${branch} still exists`;
  const open = (await access.openPullRequestsOn(branch, signal)).filter((number) => number !== closing);
  return open.length ? `the forge says open pull request #${open[0]} is on branch ${branch}` : undefined;
}

async function planFor(
  context: PlanContext,
  config: RepoConfig,
  platform: Platform,
  labels: PreviewLabels,
  pullNumber: number | undefined,
  headSha?: string,
): Promise<CleanupPlan> {
  const { access, log, signal } = context;
  return {
    repo: access.repo,
    repoRef: access.repoRef,
    labels,
    platform,
    agentNames: await agentNamesOf(access, config, log, signal),
    pullNumber,
    headSha,
    forge: await access.forge(signal),
  };
}

/** The agents the repository's config names; undefined (every agent) when it names none or none can be read. */
async function agentNamesOf(access: RepoAccess, config: RepoConfig, log: Logger, signal: AbortSignal): Promise<string[] | undefined> {
  if (!config.manifests.length) return undefined;
  const names: string[] = [];
  for (const path of config.manifests) {
    const text = await access.readFile(path, signal);
    const name = text === undefined ? undefined : agentNameOfManifest(text);
    if (name) names.push(name);
    else log.warn({ manifest: path }, `manifest ${path} names no agent or could not be read; previews of every agent of this repository are removed`);
  }
  return names.length === config.manifests.length ? names : undefined;
}
