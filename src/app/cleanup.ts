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
  /** Undefined when the delivery needs no work (a branch label template is not in use, say). */
  plan(signal: AbortSignal): Promise<CleanupPlan | undefined>;
}

/**
 * Closes one repository's previews of one PR or branch (`previews/close.ts`). Each step is done once
 * across retries; each is safe to repeat after a redelivery.
 */
export function cleanupTask(options: CleanupTaskOptions): BackgroundTask {
  const { log } = options;
  let plan: CleanupPlan | undefined;
  let planned = false;
  let outcome: CloseOutcome | undefined;
  let forgeDone = false;

  return {
    key: options.key,
    what: options.what,
    log,
    async run(attempt, signal) {
      if (!planned) {
        plan = await options.plan(signal);
        planned = true;
      }
      if (!plan) {
        log.debug({ task: options.what }, `${options.what}: nothing to do`);
        return;
      }
      const { platform, labels, forge, repoRef } = plan;
      const repo = formatSourceRepo(plan.repo);
      if (!outcome || outcome.status === 'failed') {
        // Agents named by the repository's own config are its own: a legacy-labelled preview of theirs
        // that records no origin is still this repository's to remove.
        outcome = await removePreviews({ platform, labels, repo: plan.repo, agentNames: plan.agentNames, adoptUnproven: plan.agentNames, signal });
        const ids = {
          deleted: outcome.deleted.map((d) => d.id),
          alreadyGone: outcome.alreadyGone.map((d) => d.id),
          otherRepos: outcome.otherRepos.map((d) => d.id),
          stillRunning: outcome.stillRunning.map((item) => item.id),
        };
        const line = redact(`${options.what}: ${describeClose(outcome)} in ${repo}`);
        if (outcome.stillRunning.length) log.warn({ task: options.what, repo, label: labels.label, attempt, ...ids }, line);
        else log.info({ task: options.what, repo, label: labels.label, attempt, ...ids }, line);
        if (outcome.status === 'failed') throw new Error(`could not delete ${outcome.failed.map((f) => f.deployment.id).join(', ')}: ${outcome.failed[0].error}`);
      }
      if (forge && !forgeDone) {
        await markClosed({ forge, repoRef, pullNumber: plan.pullNumber, headSha: plan.headSha, platformName: platform.name, signal }, labels, outcome);
        forgeDone = true;
      }
    },
  };
}
