/**
 * Which previews belong to which repository. A preview label (`pr-5`) is only unique within one
 * repository, and several repositories may deploy to one platform account. A preview belongs to the
 * repository it was deployed from: the deployment records it where the platform can carry it
 * (`Deployment.sourceRepo`), and otherwise its build does (`source_repo`, `host/owner/repo`).
 * A preview with neither belongs to no one we can prove.
 */
import { ApiError, UnsupportedError } from '../errors.js';
import type { Build, CallOptions, Deployment, Platform } from '../platforms/platform.js';
import { parseSourceRepo, sameSourceRepo, type SourceRepo } from './source-repo.js';

export type BuildLookup = (buildId: string, options?: CallOptions) => Promise<Build | undefined>;

/** Fetches each build once; a build the platform no longer knows is `undefined`. */
export function cachedBuildLookup(platform: Platform): BuildLookup {
  const builds = new Map<string, Promise<Build | undefined>>();
  return (buildId, options) => {
    // A platform that builds nothing has no build records to read (its `build_id` is its own).
    const builder = platform.builder;
    if (!builder) return Promise.resolve(undefined);
    let found = builds.get(buildId);
    if (!found) {
      found = builder.getBuild(buildId, options).catch((err: unknown) => {
        if (err instanceof ApiError && (err.status === 404 || err.status === 410)) return undefined;
        if (err instanceof UnsupportedError) return undefined;
        builds.delete(buildId);
        throw err;
      });
      builds.set(buildId, found);
    }
    return found;
  };
}

/** The repository a deployment came from, when it or its build recorded it. */
export async function ownerOfDeployment(deployment: Deployment, lookUpBuild: BuildLookup, options?: CallOptions): Promise<SourceRepo | undefined> {
  const recorded = parseSourceRepo(deployment.sourceRepo);
  if (recorded) return recorded;
  if (!deployment.buildId) return undefined;
  const build = await lookUpBuild(deployment.buildId, options);
  return parseSourceRepo(build?.sourceRepo);
}

export type Ownership = 'ours' | 'other' | 'unproven';

/** Whether a deployment provably came from `repo`, provably from another repository, or cannot be told. */
export async function ownershipOf(deployment: Deployment, repo: SourceRepo, lookUpBuild: BuildLookup, options?: CallOptions): Promise<Ownership> {
  const owner = await ownerOfDeployment(deployment, lookUpBuild, options);
  if (!owner) return 'unproven';
  return sameSourceRepo(owner, repo) ? 'ours' : 'other';
}
