/**
 * A pull request's previews as commands see them. Ownership rules apply as for a close
 * (docs/ownership.md): the label finds, the platform's records decide, and a command acts only on a
 * preview whose records name this repository (`ownershipOf` is `ours`); one that records another
 * repository, or none, is never asked, extended, redeployed or removed by a command.
 */
import type { DeployableAgent } from '../pipeline/deploy.js';
import { labelBelongs, type PreviewLabels } from '../pipeline/label.js';
import { cachedBuildLookup, ownershipOf, type BuildLookup } from '../pipeline/ownership.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import { GONE_DEPLOY_PHASES, type Deployment, type Platform } from '../platforms/platform.js';

export interface OwnPreviews {
  /** Each agent's newest healthy preview of the label (or, when none is healthy, its newest live one), in the platform's order. */
  previews: Deployment[];
  /** Previews of the label left alone because their records do not name this repository. */
  notOurs: Deployment[];
  lookUpBuild: BuildLookup;
}

export async function ownLivePreviews(platform: Platform, labels: PreviewLabels, repo: SourceRepo, signal: AbortSignal): Promise<OwnPreviews> {
  const listed = await platform.listDeployments({ previewLabel: labels.label }, { signal });
  const lookUpBuild = cachedBuildLookup(platform);
  const newest = new Map<string, Deployment>();
  const notOurs: Deployment[] = [];
  for (const deployment of listed) {
    const agent = deployment.agentName;
    if (!agent || GONE_DEPLOY_PHASES.has(deployment.phase) || !labelBelongs(deployment.previewLabel ?? labels.label, labels)) continue;
    const chosen = newest.get(agent);
    if (chosen?.phase === 'healthy' || (chosen && deployment.phase !== 'healthy')) continue;
    if ((await ownershipOf(deployment, repo, lookUpBuild, { signal })) !== 'ours') {
      notOurs.push(deployment);
      continue;
    }
    newest.set(agent, deployment);
  }
  return { previews: [...newest.values()], notOurs, lookUpBuild };
}

/** What a live preview was deployed with, to deploy it again; undefined where the platform does not say. */
export function deployableOf(deployment: Deployment): DeployableAgent | undefined {
  if (!deployment.agentName || !deployment.deployedWith) return undefined;
  return {
    manifest: { agent: { name: deployment.agentName }, text: deployment.deployedWith.manifestText },
    environments: { text: deployment.deployedWith.environmentText },
    environment: deployment.namespace ? { namespace: deployment.namespace } : undefined,
  };
}

/** The action's default `ttl`, used when a preview does not say how long it was given. */
export const DEFAULT_PREVIEW_TTL_MS = 8 * 3_600_000;

/** How long the deploy that made a preview gave it to live (expiry less creation), or the action's default. */
export function lifetimeOf(deployment: Deployment): number {
  const created = deployment.createdAt ? Date.parse(deployment.createdAt) : Number.NaN;
  const expires = deployment.expiresAt ? Date.parse(deployment.expiresAt) : Number.NaN;
  const lifetime = expires - created;
  return Number.isFinite(lifetime) && lifetime >= 60_000 ? lifetime : DEFAULT_PREVIEW_TTL_MS;
}
