/**
 * Whose preview is this? Read from records, never from the label: labels are for finding, records
 * for deciding. A preview label (`pr-5-…`) is chosen by whoever deploys, and several repositories
 * may deploy to one platform account; what the platform recorded when the preview was made says
 * which repository it came from:
 * - the deployment's own record, where the platform keeps one (`Deployment.sourceRepo`):
 *   MUTX, the tag in the preview agent's `description` (mutx-dev/mutx-dev@abdc975:src/api/models/schemas.py,
 *   AgentCreate.description; `platforms/mutx/mutx.ts`, describeAgent); Nullspace, the agent
 *   deployment's `metadata.source_repo` (docs.ns.rocks api-reference/agent-deployments,
 *   create-an-agent-deployment `metadata`; `platforms/nullspace/nullspace.ts`); Astropods, the readme
 *   registered with the build the deployment runs (astropods/astro-cli@7e52620:cmd/push.go
 *   registerAgentWithServer, cmd/blueprint.go; `platforms/astropods/astropods.ts`);
 * - else its build's `source_repo` (`host/owner/repo`): Agentex deployments carry only manifest,
 *   environment, build, `preview_label` and `expires_at` (/work/shared/PLATFORMS.md), and Agentex
 *   builds record the `source_*` provenance (`POST /v5/builds`). A build is reused only by the
 *   repository it records (`pipeline/build.ts`), so a reused build never moves a preview.
 * A preview with neither belongs to no one we can prove: no close of any repository deletes it.
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
