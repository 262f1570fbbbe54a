/**
 * Which previews belong to which repository. A preview label (`pr-5`) is only unique within one
 * repository, and several repositories may deploy to one platform account. A preview belongs to the
 * repository its build came from: our builds record `source_repo` (`host/owner/repo`), so the owner
 * of a deployment is read from `getBuild(deployment.buildId).sourceRepo`. A preview whose build
 * records no source repository belongs to no one we can prove, and is never deleted by the app.
 */
import { ApiError } from '../errors.js';
import type { Build, CallOptions, Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import { parseSourceRepo, sameSourceRepo, type SourceRepo } from './source-repo.js';

export type BuildLookup = (buildId: string, options?: CallOptions) => Promise<Build | undefined>;

/** Fetches each build once; a build the platform no longer knows is `undefined`. */
export function cachedBuildLookup(platform: Platform): BuildLookup {
  const builds = new Map<string, Promise<Build | undefined>>();
  return (buildId, options) => {
    let found = builds.get(buildId);
    if (!found) {
      found = platform.getBuild(buildId, options).catch((err: unknown) => {
        if (err instanceof ApiError && (err.status === 404 || err.status === 410)) return undefined;
        builds.delete(buildId);
        throw err;
      });
      builds.set(buildId, found);
    }
    return found;
  };
}

/** The repository a deployment's build came from, when the build recorded it. */
export async function ownerOfDeployment(deployment: Deployment, lookUpBuild: BuildLookup, options?: CallOptions): Promise<SourceRepo | undefined> {
  if (!deployment.buildId) return undefined;
  const build = await lookUpBuild(deployment.buildId, options);
  return parseSourceRepo(build?.sourceRepo);
}

export interface RepoPreviewRequest extends CallOptions {
  label: string;
  repo: SourceRepo;
  /** Only these agents; every agent of the repository when absent. */
  agentNames?: string[];
  dryRun?: boolean;
}

export interface RepoPreviewOutcome {
  label: string;
  deleted: Deployment[];
  alreadyGone: Deployment[];
  wouldDelete: Deployment[];
  failed: { deployment: Deployment; error: string }[];
  /** Live previews of this label whose build records no source repository: left alone. */
  withoutProvenance: Deployment[];
  /** Live previews of this label from other repositories: left alone. */
  otherRepos: number;
  /** Agents of every preview of this label from this repository, live or gone. */
  agents: string[];
}

/** Deletes the live previews with this label whose builds came from this repository. Safe to repeat. */
export async function removeRepoPreviews(platform: Platform, request: RepoPreviewRequest, lookUpBuild = cachedBuildLookup(platform)): Promise<RepoPreviewOutcome> {
  const { label, repo, signal } = request;
  const outcome: RepoPreviewOutcome = { label, deleted: [], alreadyGone: [], wouldDelete: [], failed: [], withoutProvenance: [], otherRepos: 0, agents: [] };
  const listed = await platform.listDeployments({ previewLabel: label }, { signal });
  const agents = new Set<string>();
  for (const deployment of listed) {
    if (deployment.previewLabel && deployment.previewLabel !== label) continue;
    if (request.agentNames && !(deployment.agentName && request.agentNames.includes(deployment.agentName))) continue;
    const live = !GONE_DEPLOY_PHASES.has(deployment.phase);
    const owner = await ownerOfDeployment(deployment, lookUpBuild, { signal });
    if (!owner) {
      if (live) outcome.withoutProvenance.push(deployment);
      continue;
    }
    if (!sameSourceRepo(owner, repo)) {
      if (live) outcome.otherRepos++;
      continue;
    }
    if (deployment.agentName) agents.add(deployment.agentName);
    if (!live) continue;
    if (request.dryRun) {
      outcome.wouldDelete.push(deployment);
      continue;
    }
    try {
      const result = await platform.deleteDeployment(deployment.id, { signal });
      (result === 'deleted' ? outcome.deleted : outcome.alreadyGone).push(deployment);
    } catch (err) {
      if (signal?.aborted) throw err;
      outcome.failed.push({ deployment, error: (err as Error).message });
    }
  }
  outcome.agents = [...agents].sort();
  return outcome;
}
