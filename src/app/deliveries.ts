import type { Logger } from 'probot';
import type { Forge, RepoRef } from '../forge/forge.js';
import { resolvePreviewLabel } from '../pipeline/label.js';
import type { Platform } from '../platforms/platform.js';
import type { BackgroundTask } from './background.js';
import { cleanupTask, type CleanupPlan } from './cleanup.js';
import { agentNameOfManifest, labelUsesBranch, type RepoConfig } from '../previews/repo-config.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

/** How one forge's delivery reaches the repository behind it; GitHub and Gitea differ only here. */
export interface RepoAccess {
  repo: SourceRepo;
  repoRef: RepoRef;
  loadConfig(signal: AbortSignal): Promise<RepoConfig>;
  /** A file's text on the default branch; undefined when it does not exist. */
  readFile(path: string, signal: AbortSignal): Promise<string | undefined>;
  forge(signal: AbortSignal): Promise<Forge | undefined>;
}

export type PlatformFor = (name: string | undefined) => Platform;

export interface PullRequestClosed {
  deliveryId: string;
  log: Logger;
  access: RepoAccess;
  number: number;
  headRef?: string;
  headSha?: string;
  platformFor: PlatformFor;
}

/** The previews of a closed (merged or not) pull request go. */
export function pullRequestClosedTask(event: PullRequestClosed): BackgroundTask {
  const { access, log } = event;
  const repo = formatSourceRepo(access.repo);
  return cleanupTask({
    key: `${repo.toLowerCase()}#pr-${event.number}`,
    what: `teardown of ${repo}#${event.number} (delivery ${event.deliveryId})`,
    log,
    async plan(signal) {
      const config = await access.loadConfig(signal);
      const { label } = resolvePreviewLabel(config.labelTemplate, { number: event.number, branch: event.headRef, sha: event.headSha });
      return planFor(event, config, label, event.number, signal);
    },
  });
}

export interface BranchDeleted {
  deliveryId: string;
  log: Logger;
  access: RepoAccess;
  branch: string;
  platformFor: PlatformFor;
}

/** A deleted branch loses its previews when the repository labels previews by branch. */
export function branchDeletedTask(event: BranchDeleted): BackgroundTask {
  const { access, log } = event;
  const repo = formatSourceRepo(access.repo);
  return cleanupTask({
    key: `${repo.toLowerCase()}@${event.branch}`,
    what: `teardown of ${repo} branch ${event.branch} (delivery ${event.deliveryId})`,
    log,
    async plan(signal) {
      const config = await access.loadConfig(signal);
      if (!labelUsesBranch(config.labelTemplate) || /\{(number|sha)\}/.test(config.labelTemplate)) return undefined;
      const { label } = resolvePreviewLabel(config.labelTemplate, { branch: event.branch });
      return planFor(event, config, label, undefined, signal);
    },
  });
}

async function planFor(
  event: { access: RepoAccess; log: Logger; platformFor: PlatformFor },
  config: RepoConfig,
  label: string,
  pullNumber: number | undefined,
  signal: AbortSignal,
): Promise<CleanupPlan> {
  const { access, log } = event;
  return {
    repo: access.repo,
    repoRef: access.repoRef,
    label,
    platform: event.platformFor(config.platform),
    agentNames: await agentNamesOf(access, config, log, signal),
    pullNumber,
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
