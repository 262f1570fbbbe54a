import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import { labelBelongs, type PreviewLabels } from '../pipeline/label.js';
import { cachedBuildLookup, ownershipOf, type BuildLookup } from '../pipeline/ownership.js';
import { silentReporter, type Reporter } from '../pipeline/reporter.js';
import { parseSourceRepo, sameSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

export interface TeardownOptions {
  /** Whose previews: the labels of one repository's PR or branch (`resolvePreviewLabel`)... */
  labels?: PreviewLabels;
  /** ...or exactly one label, as given. */
  label?: string;
  /** Only these agents' previews; all agents' when absent. */
  agentNames?: string[];
  /**
   * Only previews deployed from this repository. Labels are unique per repository only, so
   * anything that acts for one repository (the action, the app) passes it.
   */
  repo?: SourceRepo;
  /**
   * With `repo`: agents whose live previews under the legacy label count as this repository's even
   * when nothing records where they were deployed from (the repository's own manifests name them).
   * Other such previews are left alone and reported.
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
  /** Every label of ours a preview was found under (more than one under a `{sha}` template). */
  labels: string[];
  deleted: Deployment[];
  /** Found live but removed meanwhile by someone else (the platform said it was already gone). */
  alreadyGone: Deployment[];
  /** Listed only, in a dry run. */
  wouldDelete: Deployment[];
  failed: { deployment: Deployment; error: string }[];
  /** Live previews of this label whose origin is recorded nowhere: left alone. */
  withoutProvenance: Deployment[];
  /** Live previews of this label deployed from other repositories: left alone. */
  otherRepos: Deployment[];
  /** Agents of every preview of this label that is ours, live or gone. */
  agents: string[];
}

/**
 * Deletes every live preview of one PR or branch (of this repository, when one is given): those of
 * its label, under a `{sha}` template those of every push, and those an earlier version labelled
 * without the identity hash. Safe to repeat: what is already gone counts as done.
 */
export async function teardownPreviews(platform: Platform, options: TeardownOptions): Promise<TeardownOutcome> {
  const { signal } = options;
  const labels = options.labels ?? exactLabel(options.label ?? '');
  if (!labels.label) throw new Error('teardownPreviews needs a label');
  const reporter = options.reporter ?? silentReporter;
  const lookUpBuild = options.lookUpBuild ?? cachedBuildLookup(platform);
  const outcome: TeardownOutcome = {
    label: labels.label,
    labels: [],
    deleted: [],
    alreadyGone: [],
    wouldDelete: [],
    failed: [],
    withoutProvenance: [],
    otherRepos: [],
    agents: [],
  };
  const agents = new Set<string>();
  const foundLabels = new Set<string>();
  for (const deployment of await candidates(platform, labels, Boolean(options.repo), signal)) {
    if (options.agentNames && !(deployment.agentName && options.agentNames.includes(deployment.agentName))) continue;
    const live = !GONE_DEPLOY_PHASES.has(deployment.phase);
    if (options.repo) {
      const ownership = await ownershipUnder(deployment, labels, options.repo, lookUpBuild, signal);
      if (ownership === 'other') {
        if (live) outcome.otherRepos.push(deployment);
        continue;
      }
      if (ownership === 'unproven' && !(deployment.agentName && options.adoptUnproven?.includes(deployment.agentName))) {
        if (live) outcome.withoutProvenance.push(deployment);
        continue;
      }
    }
    const agent = deployment.agentName ?? 'agent';
    if (deployment.agentName) agents.add(deployment.agentName);
    if (deployment.previewLabel) foundLabels.add(deployment.previewLabel);
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
  outcome.labels = [...foundLabels].sort();
  if (outcome.withoutProvenance.length) {
    const label = labels.legacyLabel;
    reporter.warn(
      `left ${outcome.withoutProvenance.length} preview(s) of "${label}" alone because nothing records which repository deployed them: ${describeDeployments(outcome.withoutProvenance)}; delete them with \`agent-preview teardown --label ${label}\` if they are yours`,
    );
  }
  if (outcome.otherRepos.length) {
    reporter.info(`left ${outcome.otherRepos.length} preview(s) of other repositories alone: ${describeDeployments(outcome.otherRepos)}`);
  }
  return outcome;
}

/** One label exactly as given, with no identity hash and no legacy form. */
export function exactLabel(label: string): PreviewLabels {
  return { label, legacyLabel: label, perPush: false };
}

/** `d-1 (hello-agent), d-2 (other-agent)` */
export function describeDeployments(deployments: Deployment[]): string {
  return deployments.map((d) => `${d.id} (${d.agentName ?? 'agent'})`).join(', ');
}

/**
 * This identity's previews, each once, and for a repository those of its legacy label. Without a
 * repository the legacy label may well be another branch's current one (`feature-a` for `feature/a`).
 */
async function candidates(platform: Platform, labels: PreviewLabels, withLegacy: boolean, signal?: AbortSignal): Promise<Deployment[]> {
  const found = new Map<string, Deployment>();
  const add = (deployments: Deployment[], keep: (deployment: Deployment) => boolean) => {
    for (const deployment of deployments) if (keep(deployment) && !found.has(deployment.id)) found.set(deployment.id, deployment);
  };
  // The platform filters by label, but a filter it ignores must not widen what we delete.
  add(await platform.listDeployments({ previewLabel: labels.label }, { signal }), (d) => !d.previewLabel || d.previewLabel === labels.label);
  if (withLegacy && labels.legacyLabel !== labels.label) {
    add(await platform.listDeployments({ previewLabel: labels.legacyLabel }, { signal }), (d) => d.previewLabel === labels.legacyLabel);
  }
  // Under a {sha} template every push has its own label; only the identity hash ties them together,
  // and no platform lists by a part of a label.
  if (labels.perPush && labels.identitySuffix) add(await platform.listDeployments({}, { signal }), (d) => labelBelongs(d.previewLabel, labels));
  return [...found.values()];
}

/**
 * A label with the identity hash was made for this repository and PR: it is ours, unless the
 * deployment itself records another repository. A legacy label is ours only when the deployment or
 * its build records this repository (a build can be shared, which is why labels carry the hash now).
 */
async function ownershipUnder(deployment: Deployment, labels: PreviewLabels, repo: SourceRepo, lookUpBuild: BuildLookup, signal?: AbortSignal) {
  const hashed = Boolean(labels.identitySuffix) && labelBelongs(deployment.previewLabel, labels);
  if (!hashed) return ownershipOf(deployment, repo, lookUpBuild, { signal });
  const recorded = parseSourceRepo(deployment.sourceRepo);
  return recorded && !sameSourceRepo(recorded, repo) ? 'other' : 'ours';
}
