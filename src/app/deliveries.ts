import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import type { Forge, RepoRef } from '../forge/forge.js';
import { resolvePreviewLabel, type PreviewLabels } from '../pipeline/label.js';
import type { Platform } from '../platforms/platform.js';
import type { BackgroundTask } from './background.js';
import { cleanupTask, type CleanupPlan } from './cleanup.js';
import { agentNameOfManifest, labelUsesBranch, type RepoConfig } from '../previews/repo-config.js';
import { formatSourceRepo, sourceRepoFromWebUrl, type SourceRepo } from '../pipeline/source-repo.js';

/** How one forge's delivery reaches the repository behind it; GitHub and Gitea differ only here. */
export interface RepoAccess {
  repo: SourceRepo;
  repoRef: RepoRef;
  loadConfig(signal: AbortSignal): Promise<RepoConfig>;
  /** A file's text on the default branch; undefined when it does not exist. */
  readFile(path: string, signal: AbortSignal): Promise<string | undefined>;
  /** The pull request's state now, asked of the forge with the delivering door's own credentials. */
  pullRequestState(number: number, signal: AbortSignal): Promise<'open' | 'closed'>;
  branchExists(branch: string, signal: AbortSignal): Promise<boolean>;
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
 */
export type TeardownJob = {
  door: 'github' | 'gitea';
  deliveryId: string;
  /** The GitHub App installation the delivery names; absent for Gitea and for a token-run app. */
  installationId?: number;
  repository: { owner: string; name: string; htmlUrl: string };
} & ({ event: 'pull_request.closed'; number: number; headRef?: string; headSha?: string } | { event: 'branch.deleted'; branch: string });

/** Builds a door's forge access for a job; refuses (InputError) a repository the door does not serve. */
export type AccessFor = (job: TeardownJob, signal: AbortSignal) => Promise<RepoAccess>;

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

/**
 * The work of one job. Nothing is deleted on the delivery's word alone: the forge is asked, with the
 * door's own credentials, whether the pull request is closed (or the branch gone) right now, so a
 * forged, replayed or stale delivery of an open pull request deletes nothing.
 */
export function teardownTask(job: TeardownJob, options: { log: Logger; accessFor: AccessFor; platformFor: PlatformFor }): BackgroundTask {
  const { log } = options;
  const what = describeTeardown(job);
  const event = { log, platformFor: options.platformFor };
  return {
    lane: job.door,
    ...cleanupTask({
      key: teardownKey(job),
      what,
      log,
      async plan(signal) {
        const access = await options.accessFor(job, signal);
        const repo = formatSourceRepo(access.repo);
        if (job.event === 'pull_request.closed') {
          const state = await access.pullRequestState(job.number, signal);
          if (state !== 'closed') {
            log.warn({ repo, pull: job.number, state }, `${what}: the forge says pull request #${job.number} is ${state}; nothing is deleted`);
            return undefined;
          }
          const config = await access.loadConfig(signal);
          const rule = options.platformFor(config.platform).labelRule;
          const labels = resolvePreviewLabel(config.labelTemplate, { number: job.number, branch: job.headRef, sha: job.headSha }, 'preview-label', rule, access.repo);
          return planFor({ ...event, access }, config, labels, job.number, signal, job.headSha);
        }
        const config = await access.loadConfig(signal);
        if (!labelUsesBranch(config.labelTemplate) || /\{(number|sha)\}/.test(config.labelTemplate)) return undefined;
        if (await access.branchExists(job.branch, signal)) {
          log.warn({ repo, branch: job.branch }, `${what}: the forge says branch ${job.branch} still exists; nothing is deleted`);
          return undefined;
        }
        const rule = options.platformFor(config.platform).labelRule;
        const labels = resolvePreviewLabel(config.labelTemplate, { branch: job.branch }, 'preview-label', rule, access.repo);
        return planFor({ ...event, access }, config, labels, undefined, signal);
      },
    }),
  };
}

async function planFor(
  event: { access: RepoAccess; log: Logger; platformFor: PlatformFor },
  config: RepoConfig,
  labels: PreviewLabels,
  pullNumber: number | undefined,
  signal: AbortSignal,
  headSha?: string,
): Promise<CleanupPlan> {
  const { access, log } = event;
  return {
    repo: access.repo,
    repoRef: access.repoRef,
    labels,
    platform: event.platformFor(config.platform),
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
