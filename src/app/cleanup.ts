import type { Logger } from 'probot';
import type { Forge, RepoRef } from '../forge/forge.js';
import type { PreviewLabels } from '../pipeline/label.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';
import type { Platform } from '../platforms/platform.js';
import { describeClose, markClosed, removePreviews, type CloseOutcome } from '../previews/close.js';
import { redact } from '../secrets/redact.js';
import type { BackgroundTask } from './background.js';

/** What one delivery asks for, worked out (config read, label resolved) in the background. */
export interface CleanupPlan {
  repo: SourceRepo;
  /** owner/name for forge calls. */
  repoRef: RepoRef;
  /** The labels of the closed PR or deleted branch, as the action made them for this repository. */
  labels: PreviewLabels;
  platform: Platform;
  /** Set when the repository's config names its manifests. */
  agentNames?: string[];
  /** The closed pull request, whose sticky comment is marked removed; absent for a deleted branch. */
  pullNumber?: number;
  /** The closed pull request's head commit, whose Gitea commit status linked the preview. */
  headSha?: string;
  forge?: Forge;
}

export interface CleanupTaskOptions {
  key: string;
  what: string;
  log: Logger;
  /**
   * Asks the forge (is the pull request still closed, the branch still gone?) and works out the
   * labels. Called on every attempt; undefined when there is nothing (any more) to do.
   */
  plan(signal: AbortSignal): Promise<CleanupPlan | undefined>;
  recent?: RecentCloses;
}

/**
 * Closes one repository's previews of one PR or branch (`previews/close.ts`). Every attempt asks the
 * forge again, so a retry after the pull request was reopened deletes nothing; a step done on an
 * earlier attempt (the deletes, the forge's marks) is not repeated.
 */
export function cleanupTask(options: CleanupTaskOptions): BackgroundTask {
  const { log } = options;
  let outcome: CloseOutcome | undefined;
  let forgeDone = false;

  return {
    key: options.key,
    what: options.what,
    log,
    async run(attempt, signal) {
      if (attempt === 1 && (await options.recent?.nothingLeft(options.key, signal))) {
        log.info({ task: options.what }, `${options.what}: closed moments ago and nothing of it runs any more; the forge is not asked again`);
        return;
      }
      const plan = await options.plan(signal);
      if (!plan) {
        log.debug({ task: options.what, attempt }, `${options.what}: nothing to do`);
        return;
      }
      if (!outcome || outcome.status === 'failed') outcome = await remove(plan, options, attempt, signal);
      if (plan.forge && !forgeDone) {
        await markClosed(
          { forge: plan.forge, repoRef: plan.repoRef, pullNumber: plan.pullNumber, headSha: plan.headSha, platformName: plan.platform.name, signal },
          plan.labels,
          outcome,
        );
        forgeDone = true;
      }
      options.recent?.remember(options.key, plan);
      log.debug({ task: options.what, attempt, status: outcome.status }, `${options.what}: done (${outcome.status})`);
    },
  };
}

/** Deletes the plan's previews (those whose records name the repository), logs what happened, and throws while a delete failed. */
async function remove(plan: CleanupPlan, options: CleanupTaskOptions, attempt: number, signal: AbortSignal): Promise<CloseOutcome> {
  const { log, what } = options;
  const repo = formatSourceRepo(plan.repo);
  const outcome = await removePreviews({ ...searchOf(plan), signal });
  const ids = {
    deleted: outcome.deleted.map((d) => d.id),
    alreadyGone: outcome.alreadyGone.map((d) => d.id),
    otherRepos: outcome.otherRepos.map((d) => d.id),
    stillRunning: outcome.stillRunning.map((item) => item.id),
  };
  const line = redact(`${what}: ${describeClose(outcome)} in ${repo}`);
  if (outcome.stillRunning.length) log.warn({ task: what, repo, label: plan.labels.label, attempt, ...ids }, line);
  else log.info({ task: what, repo, label: plan.labels.label, attempt, ...ids }, line);
  if (outcome.status === 'failed') throw new Error(`could not delete ${outcome.failed.map((f) => f.deployment.id).join(', ')}: ${outcome.failed[0].error}`);
  return outcome;
}

/** What `removePreviews` looks for under a plan. Nothing is adopted: a preview that records no repository is kept and named. */
function searchOf(plan: CleanupPlan) {
  return { platform: plan.platform, labels: plan.labels, repo: plan.repo, agentNames: plan.agentNames, knownAgents: plan.agentNames };
}

/**
 * The pull requests and branches closed in the last minute, with what their close looked for. A
 * replayed or repeated close of one of them is answered from here when the platform shows nothing
 * of it running: no forge call, so replays cannot spend the installation's rate limit. Anything
 * still running sends the close down the full path, which asks the forge first; so this memory can
 * only ever spare a close that has nothing to delete.
 */
export class RecentCloses {
  private readonly closes = new Map<string, { plan: CleanupPlan; at: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly capacity = 1_000,
  ) {}

  remember(key: string, plan: CleanupPlan, now = Date.now()): void {
    this.closes.delete(key);
    this.closes.set(key, { plan, at: now });
    for (const [oldest, { at }] of this.closes) {
      if (this.closes.size <= this.capacity && now - at < this.ttlMs) break;
      this.closes.delete(oldest);
    }
  }

  /** True when this key closed within the window and the platform shows nothing of it left to delete. */
  async nothingLeft(key: string, signal: AbortSignal, now = Date.now()): Promise<boolean> {
    const recent = this.closes.get(key);
    if (!recent || now - recent.at >= this.ttlMs) return false;
    const outcome = await removePreviews({ ...searchOf(recent.plan), signal, dryRun: true });
    return outcome.wouldDelete.length === 0 && outcome.failed.length === 0;
  }
}
