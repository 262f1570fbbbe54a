import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import { cachedBuildLookup, ownershipOf, type BuildLookup } from '../pipeline/ownership.js';
import { silentReporter, type Reporter } from '../pipeline/reporter.js';
import type { SourceRepo } from '../pipeline/source-repo.js';

export interface TeardownOptions {
  label: string;
  /** Only these agents' previews; all agents' when absent. */
  agentNames?: string[];
  /**
   * Only previews deployed from this repository. Labels are unique per repository only, so
   * anything that acts for one repository (the action, the app) passes it.
   */
  repo?: SourceRepo;
  /**
   * With `repo`: agents whose live previews count as this repository's even when nothing records
   * where they were deployed from (the repository's own manifests name them). Other such previews
   * are left alone and reported.
   */
  adoptUnproven?: string[];
  reporter?: Reporter;
  signal?: AbortSignal;
  /** List what would go without deleting anything. */
  dryRun?: boolean;
  lookUpBuild?: BuildLookup;
}

export interface TeardownOutcome {
  label: string;
  deleted: Deployment[];
  /** Found live but removed meanwhile by someone else (the platform said it was already gone). */
  alreadyGone: Deployment[];
  /** Listed only, in a dry run. */
  wouldDelete: Deployment[];
  failed: { deployment: Deployment; error: string }[];
  /** Live previews of this label whose origin is recorded nowhere: left alone. */
  withoutProvenance: Deployment[];
  /** Live previews of this label deployed from other repositories: left alone. */
  otherRepos: number;
  /** Agents of every preview of this label that is ours, live or gone. */
  agents: string[];
}

/**
 * Deletes every live preview with this label (of this repository, when one is given). Safe to
 * repeat: what is already gone counts as done.
 */
export async function teardownPreviews(platform: Platform, options: TeardownOptions): Promise<TeardownOutcome> {
  const { label, signal } = options;
  const reporter = options.reporter ?? silentReporter;
  const lookUpBuild = options.lookUpBuild ?? cachedBuildLookup(platform);
  const outcome: TeardownOutcome = { label, deleted: [], alreadyGone: [], wouldDelete: [], failed: [], withoutProvenance: [], otherRepos: 0, agents: [] };
  const agents = new Set<string>();
  const listed = await platform.listDeployments({ previewLabel: label }, { signal });
  for (const deployment of listed) {
    if (deployment.previewLabel && deployment.previewLabel !== label) continue;
    if (options.agentNames && !(deployment.agentName && options.agentNames.includes(deployment.agentName))) continue;
    const live = !GONE_DEPLOY_PHASES.has(deployment.phase);
    if (options.repo) {
      const ownership = await ownershipOf(deployment, options.repo, lookUpBuild, { signal });
      if (ownership === 'other') {
        if (live) outcome.otherRepos++;
        continue;
      }
      if (ownership === 'unproven' && !(deployment.agentName && options.adoptUnproven?.includes(deployment.agentName))) {
        if (live) outcome.withoutProvenance.push(deployment);
        continue;
      }
    }
    const agent = deployment.agentName ?? 'agent';
    if (deployment.agentName) agents.add(deployment.agentName);
    if (!live) continue;
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
  outcome.agents = [...agents].sort();
  if (outcome.withoutProvenance.length) {
    reporter.warn(
      `left ${outcome.withoutProvenance.length} preview(s) of "${label}" alone because nothing records which repository deployed them: ${outcome.withoutProvenance.map((d) => `${d.id} (${d.agentName ?? 'agent'})`).join(', ')}; delete them with \`agent-preview teardown --label ${label}\` if they are yours`,
    );
  }
  return outcome;
}
