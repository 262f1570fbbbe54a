import type { Logger } from 'probot';
import { findStickyComments, renderRemovedComment } from '../forge/comment.js';
import type { Forge, RepoRef } from '../forge/forge.js';
import { upsertStickyComment } from '../forge/sticky.js';
import type { Deployment, Platform } from '../platforms/platform.js';
import { redact } from '../secrets/redact.js';
import type { BackgroundTask } from './background.js';
import { teardownPreviews } from '../previews/teardown.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

/** What one delivery asks for, worked out (config read, label resolved) in the background. */
export interface CleanupPlan {
  repo: SourceRepo;
  /** owner/name for forge calls. */
  repoRef: RepoRef;
  label: string;
  platform: Platform;
  /** Set when the repository's config names its manifests. */
  agentNames?: string[];
  /** The closed pull request, whose sticky comment is marked removed; absent for a deleted branch. */
  pullNumber?: number;
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
 * Removes one repository's previews of one label, then marks the sticky comment and the GitHub
 * deployments. Each step is done once across retries; each is safe to repeat after a redelivery.
 */
export function cleanupTask(options: CleanupTaskOptions): BackgroundTask {
  const { log } = options;
  let plan: CleanupPlan | undefined;
  let planned = false;
  let platformDone = false;
  let commentDone = false;
  let deploymentsDone = false;
  const deleted: Deployment[] = [];
  const alreadyGone: Deployment[] = [];
  const agents = new Set<string>();

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
      const { platform, label, forge, repoRef } = plan;
      const repo = formatSourceRepo(plan.repo);
      if (!platformDone) {
        // Agents named by the repository's own config are its own: a preview of theirs that records no
        // origin is still this repository's to remove.
        const outcome = await teardownPreviews(platform, { label, repo: plan.repo, agentNames: plan.agentNames, adoptUnproven: plan.agentNames, signal });
        deleted.push(...outcome.deleted);
        alreadyGone.push(...outcome.alreadyGone);
        for (const agent of outcome.agents) agents.add(agent);
        if (outcome.withoutProvenance.length) {
          log.warn(
            { repo, label, deployments: outcome.withoutProvenance.map((d) => d.id) },
            `previews labelled "${label}" whose origin is recorded nowhere were left alone: ${outcome.withoutProvenance.map((d) => d.id).join(', ')}`,
          );
        }
        if (outcome.failed.length) {
          throw new Error(`could not delete ${outcome.failed.map((f) => f.deployment.id).join(', ')}: ${outcome.failed[0].error}`);
        }
        platformDone = true;
      }
      if (forge && plan.pullNumber !== undefined && !commentDone) {
        const pr = { ...repoRef, number: plan.pullNumber };
        // Only a PR the action commented on gets the note; others stay untouched.
        if (findStickyComments(await forge.listComments(pr, signal)).length) {
          const body = renderRemovedComment({ label, platform: platform.name, updatedAt: new Date().toISOString(), agents: [...agents].sort() });
          await upsertStickyComment(forge, pr, body, { signal });
        }
        commentDone = true;
      }
      if (forge && forge.kind === 'github' && !deploymentsDone) {
        // The action names the environment `preview/<label>` for one agent, `preview/<label>/<agent>` for several.
        for (const environment of [`preview/${label}`, ...[...agents].sort().map((agent) => `preview/${label}/${agent}`)]) {
          await forge.deactivateEnvironment(repoRef, environment, signal);
        }
        deploymentsDone = true;
      }
      log.info(
        {
          task: options.what,
          repo,
          label,
          attempt,
          deleted: deleted.map((d) => d.id),
          alreadyGone: alreadyGone.map((d) => d.id),
          agents: [...agents].sort(),
        },
        redact(`${options.what}: previews of "${label}" in ${repo}: ${deleted.length} deleted, ${alreadyGone.length} already gone`),
      );
    },
  };
}
