import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import type { Reporter } from './reporter.js';

export interface TeardownOptions {
  label: string;
  /** Only these agents' previews; all agents' when absent. */
  agentNames?: string[];
  reporter: Reporter;
  signal?: AbortSignal;
  /** List what would go without deleting anything. */
  dryRun?: boolean;
}

export interface TeardownOutcome {
  label: string;
  deleted: Deployment[];
  /** Found live but removed meanwhile by someone else (the platform said it was already gone). */
  alreadyGone: Deployment[];
  /** Listed only, in a dry run. */
  wouldDelete: Deployment[];
  failed: { deployment: Deployment; error: string }[];
}

/** Deletes every live preview with this label. Safe to repeat: what is already gone counts as done. */
export async function teardownPreviews(platform: Platform, options: TeardownOptions): Promise<TeardownOutcome> {
  const { label, reporter, signal } = options;
  const outcome: TeardownOutcome = { label, deleted: [], alreadyGone: [], wouldDelete: [], failed: [] };
  const listed = await platform.listDeployments({ previewLabel: label }, { signal });
  const wanted = listed.filter(
    (deployment) =>
      (!deployment.previewLabel || deployment.previewLabel === label) &&
      (!options.agentNames || (deployment.agentName !== undefined && options.agentNames.includes(deployment.agentName))),
  );
  for (const deployment of wanted) {
    const agent = deployment.agentName ?? 'agent';
    if (GONE_DEPLOY_PHASES.has(deployment.phase)) continue;
    if (options.dryRun) {
      outcome.wouldDelete.push(deployment);
      reporter.step(agent, `would delete preview ${deployment.id} (${deployment.rawStatus})`);
      continue;
    }
    try {
      const result = await platform.deleteDeployment(deployment.id, { signal });
      (result === 'deleted' ? outcome.deleted : outcome.alreadyGone).push(deployment);
      reporter.step(agent, result === 'deleted' ? `deleted preview ${deployment.id}` : `preview ${deployment.id} was already gone`);
    } catch (err) {
      if (signal?.aborted) throw err;
      outcome.failed.push({ deployment, error: (err as Error).message });
      reporter.warn(`${agent}: could not delete preview ${deployment.id}: ${(err as Error).message}`);
    }
  }
  return outcome;
}
