/**
 * Which live preview a conversation from outside a run is held with (`agent-preview chat`,
 * `agent-preview smoke`): the PR's label, found as `status --pr` and `teardown --pr` find it
 * (`resolvePreviewLabel`, with the repository when it is known), the newest live preview of each
 * agent, never one another repository provably deployed.
 */
import { InputError } from '../errors.js';
import { labelBelongs, type PreviewLabels } from '../pipeline/label.js';
import { cachedBuildLookup, ownershipOf } from '../pipeline/ownership.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import { GONE_DEPLOY_PHASES, type Deployment, type Platform } from '../platforms/platform.js';
import type { RunSmokeOptions } from './runner.js';

/** No live preview matched; the message says what was looked for and what to try. */
export class NoPreviewError extends Error {
  override name = 'NoPreviewError';
}

/**
 * Each agent's newest healthy preview of the label (or, when none is healthy yet, its newest live
 * one), only `agents` when given, in the order the platform lists them.
 */
export async function findLivePreviews(
  platform: Platform,
  labels: PreviewLabels,
  options: { agents?: string[]; repo?: SourceRepo; signal?: AbortSignal } = {},
): Promise<Deployment[]> {
  const { signal } = options;
  const listed = await platform.listDeployments({ previewLabel: labels.label }, { signal });
  const lookUpBuild = cachedBuildLookup(platform);
  const newest = new Map<string, Deployment>();
  for (const deployment of listed) {
    const agent = deployment.agentName;
    const chosen = agent ? newest.get(agent) : undefined;
    if (!agent || chosen?.phase === 'healthy' || (chosen && deployment.phase !== 'healthy')) continue;
    if (GONE_DEPLOY_PHASES.has(deployment.phase) || !labelBelongs(deployment.previewLabel ?? labels.label, labels)) continue;
    if (options.agents && !options.agents.includes(agent)) continue;
    if (options.repo && (await ownershipOf(deployment, options.repo, lookUpBuild, { signal })) === 'other') continue;
    newest.set(agent, deployment);
  }
  return [...newest.values()];
}

/** The one preview to chat with: the agent's, or the only agent's; bad or ambiguous input is an InputError, none found a NoPreviewError. */
export async function findChatPreview(
  platform: Platform,
  labels: PreviewLabels,
  options: { agent?: string; repo?: SourceRepo; signal?: AbortSignal; what: string },
): Promise<Deployment> {
  const found = await findLivePreviews(platform, labels, { agents: options.agent ? [options.agent] : undefined, repo: options.repo, signal: options.signal });
  if (!found.length) throw new NoPreviewError(noPreviewMessage(platform, labels, options));
  if (found.length > 1) {
    throw new InputError(`${options.what} has previews of several agents (${found.map((deployment) => deployment.agentName).join(', ')}); choose one with --agent`, {
      field: '--agent',
    });
  }
  const [deployment] = found;
  if (deployment.phase !== 'healthy')
    throw new NoPreviewError(`${options.what}: preview ${deployment.id} of ${deployment.agentName} is ${deployment.rawStatus}, not healthy yet; try again once it is`);
  return deployment;
}

export function noPreviewMessage(platform: Platform, labels: PreviewLabels, options: { agent?: string; repo?: SourceRepo; what: string }): string {
  const agent = options.agent ? ` of ${options.agent}` : '';
  const hint = options.repo ? '' : '; previews made by the action carry the repository in their label, so pass --repo host/owner/repo (e.g. github.com/acme/agents)';
  return `${options.what}: no live preview${agent} labelled "${labels.label}" on ${platform.name}${hint}`;
}

/** Stops an agent's conversations once its preview is deleted or superseded (by a newer run, which holds its own). */
export function previewWatch(platform: Platform, pollIntervalMs: number): RunSmokeOptions['watch'] {
  return {
    everyMs: Math.max(pollIntervalMs, 1000),
    gone: async (deployment) => {
      const current = await platform.getDeployment(deployment.id, { signal: AbortSignal.timeout(15_000) });
      return GONE_DEPLOY_PHASES.has(current.phase)
        ? `preview ${deployment.id} became ${current.rawStatus} while it was talked to (replaced by a newer deployment, or torn down)`
        : undefined;
    },
  };
}
