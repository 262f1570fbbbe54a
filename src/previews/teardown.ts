import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import { labelBelongs, lookupLabels, type PreviewLabels } from '../pipeline/label.js';
import { cachedBuildLookup, ownershipOf, type BuildLookup } from '../pipeline/ownership.js';
import { silentReporter, type Reporter } from '../pipeline/reporter.js';
import type { SourceRepo } from '../pipeline/source-repo.js';

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
   * With `repo`: agents whose live previews count as this repository's even when nothing records
   * where they were deployed from. Only a person says so (the CLI's `teardown --repo --agent`); the
   * action and the app never do, so a preview recording nothing is kept and named, whatever its label.
   */
  adoptUnproven?: string[];
  /**
   * Under a `{sha}` template: the agents whose previews are listed to find every push's label (the
   * platform filters by agent, not by a part of a label). The agents of previews found under the
   * head commit's label are added; with none known at all, the whole account is listed.
   */
  knownAgents?: string[];
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
  const search = { withLegacy: Boolean(options.repo), knownAgents: options.knownAgents ?? options.agentNames, reporter };
  for (const deployment of await candidates(platform, labels, search, signal)) {
    if (options.agentNames && !(deployment.agentName && options.agentNames.includes(deployment.agentName))) continue;
    const live = !GONE_DEPLOY_PHASES.has(deployment.phase);
    if (options.repo) {
      // Whatever its label says, a preview is this repository's only when its records say so.
      const ownership = await ownershipOf(deployment, options.repo, lookUpBuild, { signal });
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
    reporter.warn(
      `left ${outcome.withoutProvenance.length} preview(s) alone because nothing records which repository deployed them: ${describeWithLabels(outcome.withoutProvenance)}; delete one with \`agent-preview teardown --label <label> --agent <agent>\` if it is yours`,
    );
  }
  if (outcome.otherRepos.length) {
    reporter.info(`left ${outcome.otherRepos.length} preview(s) of other repositories alone: ${describeDeployments(outcome.otherRepos)}`);
  }
  return outcome;
}

/** One label exactly as given, with no identity hash and no legacy form. */
export function exactLabel(label: string): PreviewLabels {
  return { label, legacyLabel: label, perPush: false, hashed: false };
}

/** `d-1 (hello-agent), d-2 (other-agent)` */
export function describeDeployments(deployments: Deployment[]): string {
  return deployments.map((d) => `${d.id} (${d.agentName ?? 'agent'})`).join(', ');
}

/** `d-1 (hello-agent, label pr-5)` */
function describeWithLabels(deployments: Deployment[]): string {
  return deployments.map((d) => `${d.id} (${d.agentName ?? 'agent'}${d.previewLabel ? `, label ${d.previewLabel}` : ''})`).join(', ');
}

interface Search {
  withLegacy: boolean;
  knownAgents?: string[];
  reporter: Reporter;
}

/**
 * This identity's previews, each once: those under its exact labels (this version's, the previous
 * version's, and for a repository the unhashed one), and under a `{sha}` template those of every
 * push, found by agent. Without a repository the unhashed label may well be another branch's current
 * one (`feature-a` for `feature/a`), so it is not looked under.
 */
async function candidates(platform: Platform, labels: PreviewLabels, search: Search, signal?: AbortSignal): Promise<Deployment[]> {
  const found = new Map<string, Deployment>();
  const add = (deployments: Deployment[], keep: (deployment: Deployment) => boolean) => {
    for (const deployment of deployments) if (keep(deployment) && !found.has(deployment.id)) found.set(deployment.id, deployment);
  };
  for (const label of lookupLabels(labels, search.withLegacy)) {
    // The platform filters by label, but a filter it ignores must not widen what we delete.
    add(await platform.listDeployments({ previewLabel: label }, { signal }), (d) => d.previewLabel === label || (!d.previewLabel && label === labels.label));
  }
  if (!labels.pushPrefix) return [...found.values()];
  // Every push has its own label; the per-PR prefix ties them together, and no platform lists by a
  // part of a label. Agentex lists by agent; the others list their account whatever the filter.
  const agents = new Set([...(search.knownAgents ?? []), ...[...found.values()].map((d) => d.agentName).filter((name): name is string => Boolean(name))]);
  if (!agents.size) {
    search.reporter.warn(
      `no agent of this repository is known, so every preview on ${platform.name} is listed to find the earlier pushes' previews of "${labels.pushPrefix}-…"; name the manifests to list only their agents'`,
    );
    add(await platform.listDeployments({}, { signal }), (d) => labelBelongs(d.previewLabel, labels));
  }
  for (const agentName of [...agents].sort()) {
    add(await platform.listDeployments({ agentName }, { signal }), (d) => labelBelongs(d.previewLabel, labels));
  }
  return [...found.values()];
}
