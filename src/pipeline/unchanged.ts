import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import type { PreparedAgent } from './agent.js';
import { previewUrl, type DeployOptions } from './deploy.js';
import { formatDuration } from '../duration.js';
import { cachedBuildLookup, ownershipOf } from './ownership.js';
import { parseSourceRepo } from './source-repo.js';

export type PreviewCheck = { keep: Deployment; url?: string } | { redeploy: string };

/**
 * Whether the agent's live preview for this label already is what a deploy would make, so that a
 * push that did not touch this agent leaves its preview alone. It is kept only when every one of
 * these holds, each read from the platform:
 * - the newest preview of this label and agent is this repository's and healthy;
 * - on platforms that expire previews, it lives at least half the ttl longer;
 * - the manifest and environments text it was deployed with (what the deploy sends) are ours;
 * - its build has our working_tree_hash.
 * Anything the platform does not tell (no recorded repository, no deployed settings) redeploys.
 */
export async function checkUnchangedPreview(
  platform: Platform,
  agent: PreparedAgent,
  options: DeployOptions & { preview: { label: string; ttlMs: number } },
): Promise<PreviewCheck> {
  const name = agent.manifest.agent.name;
  const { signal } = options;
  if (!platform.builder) return { redeploy: `${platform.name} deploys images, and nothing tells whether the image behind a preview changed` };
  const repo = parseSourceRepo(options.sourceRepo);
  // Only the CLI deploys without a repository (the action and the app always know theirs).
  if (!repo) {
    return {
      redeploy:
        'no repository is known to tell whose preview this is; pass --repo host/owner/repo, or run in a checkout whose git remote origin names it, so that this check, teardowns and the sweep can tell the preview is yours',
    };
  }
  const previews = await platform.listDeployments({ previewLabel: options.preview.label, agentName: name }, { signal });
  const lookUpBuild = cachedBuildLookup(platform);
  let current: Deployment | undefined;
  for (const candidate of previews) {
    if (candidate.agentName !== name || GONE_DEPLOY_PHASES.has(candidate.phase)) continue;
    if ((await ownershipOf(candidate, repo, lookUpBuild, { signal })) !== 'ours') continue;
    current = candidate;
    break;
  }
  if (!current) return { redeploy: `no live preview "${options.preview.label}" yet` };
  if (current.phase !== 'healthy') return { redeploy: `preview ${current.id} is ${current.rawStatus}` };
  if (platform.capabilities.previewExpiry && current.expiresAt) {
    const leftMs = Date.parse(current.expiresAt) - Date.now();
    if (!(leftMs >= options.preview.ttlMs / 2)) {
      return { redeploy: `preview ${current.id} expires in ${formatDuration(Math.max(0, leftMs))}, within half the ttl` };
    }
  }
  if (!current.deployedWith) return { redeploy: `${platform.name} does not say what preview ${current.id} was deployed with` };
  // What the deploy would send, against what the platform says this preview was sent.
  if (current.deployedWith.manifestText !== agent.manifest.text) return { redeploy: 'manifest.yaml changed' };
  if (current.deployedWith.environmentText !== (agent.environments?.text ?? '')) return { redeploy: 'environments.yaml changed' };
  const namespace = agent.environment?.namespace;
  if (namespace && current.namespace && current.namespace !== namespace) return { redeploy: `the environment's namespace is now ${namespace}` };
  const build = current.buildId ? await lookUpBuild(current.buildId, { signal }) : undefined;
  if (!build?.treeHash || build.treeHash !== agent.packed.treeHash) return { redeploy: 'the build context changed' };
  return { keep: current, url: previewUrl(platform, current, agent, options) };
}
