import pLimit from 'p-limit';
import type { BuildProvenance, Platform } from '../platforms/platform.js';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import { packAgent, type LoadedAgent, type PreparedAgent } from './agent.js';
import { ensureBuild } from './build.js';
import { resolveImage } from './image.js';
import { deployAgent, UnwantedPreviewError, type PreviewWanted } from './deploy.js';
import { checkUnchangedPreview, type PreviewCheck } from './unchanged.js';
import type { AgentResult, Phase } from '../agent-result.js';
import { PhaseError } from './errors.js';
import type { StepContext } from './reporter.js';
import type { UrlVariables } from './url.js';

export type RunMode = 'build' | 'preview' | 'deploy';

export interface RunOptions extends StepContext {
  mode: RunMode;
  /** Required when mode is `preview`. */
  preview?: { label: string; ttlMs: number };
  wait?: boolean;
  urlTemplate?: string;
  urlVariables?: UrlVariables;
  buildArgs?: Record<string, string>;
  buildPlatform?: string;
  provenance?: BuildProvenance;
  /** Reuse a successful build of the same tree (default true). */
  reuse?: boolean;
  /** For platforms that build nothing: the pushed image (`name:tag`, `{agent}` filled in); default the manifest's repository:tag. */
  image?: string;
  /** How many agents build and deploy at once (default 4). */
  maxParallel?: number;
  /** `auto` (default): a preview that already is what a deploy would make is kept. `always`: deploy again. */
  redeploy?: RedeployPolicy;
  /** Previews only: asked before a deployment is created and once it is healthy (see DeployOptions). */
  stillWanted?: () => Promise<PreviewWanted>;
}

export type RedeployPolicy = 'auto' | 'always';

/** `redeploy` / `--redeploy`. */
export function parseRedeployPolicy(text: string, field: string): RedeployPolicy {
  const value = text.trim().toLowerCase();
  if (value !== 'auto' && value !== 'always') throw new InputError(`"${text}" is not auto or always`, { field });
  return value;
}

export const DEFAULT_MAX_PARALLEL = 4;

/** `max-parallel` / `--max-parallel`: a whole number of agents from 1 to 32. */
export function parseMaxParallel(text: string, field: string): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || value < 1 || value > 32) throw new InputError(`"${text}" is not a whole number from 1 to 32`, { field });
  return value;
}

export type { AgentResult, AgentStatus } from '../agent-result.js';

/**
 * Packs every agent first (so bad input fails before any request), then builds and deploys up to
 * `maxParallel` agents at once; results keep the manifests' order. One agent's failure does not
 * stop the others. A cancel stops them all: none starts after it, and those running cancel their
 * builds before this returns.
 */
export async function runAgents(platform: Platform, agents: LoadedAgent[], options: RunOptions): Promise<AgentResult[]> {
  if (options.mode === 'preview' && !options.preview) throw new Error('a preview run needs a preview label');
  const maxParallel = options.maxParallel ?? DEFAULT_MAX_PARALLEL;
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new Error(`max-parallel must be a whole number of at least 1 (got ${maxParallel})`);
  const prepared: PreparedAgent[] = [];
  try {
    for (const agent of agents) prepared.push(await packAgent(agent, { reporter: options.reporter, signal: options.signal }));
    const limit = pLimit(maxParallel);
    const settled = await Promise.allSettled(
      prepared.map((agent) =>
        limit(async () => {
          options.signal?.throwIfAborted();
          try {
            return await runOne(platform, agent, options);
          } finally {
            options.reporter.agentDone?.(agent.manifest.agent.name);
          }
        }),
      ),
    );
    // Only a cancel rejects (runOne turns every other failure into a result). Agents still queued
    // then reject at once, and allSettled waits for the running ones to cancel their builds.
    const cancelled = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (cancelled) throw cancelled.reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<AgentResult>).value);
  } finally {
    await Promise.all(prepared.map((agent) => agent.packed.dispose().catch(() => {})));
  }
}

/** The agent's result when its live preview is kept as it is; undefined when it is to be deployed again. */
async function keepUnchangedPreview(
  platform: Platform,
  agent: PreparedAgent,
  options: RunOptions & { preview: { label: string; ttlMs: number } },
): Promise<Partial<AgentResult> | undefined> {
  const name = agent.manifest.agent.name;
  let check: PreviewCheck;
  try {
    check = await checkUnchangedPreview(platform, agent, {
      reporter: options.reporter,
      signal: options.signal,
      pollIntervalMs: options.pollIntervalMs,
      timeoutMs: options.timeoutMs,
      preview: options.preview,
      urlTemplate: options.urlTemplate,
      urlVariables: options.urlVariables,
      sourceRepo: options.provenance?.repo,
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    options.reporter.step(name, `could not tell whether the preview is unchanged (${redact((err as Error).message)}); deploying it again`);
    return undefined;
  }
  if ('redeploy' in check) {
    options.reporter.step(name, `deploying: ${check.redeploy}`);
    return undefined;
  }
  const { keep } = check;
  options.reporter.step(name, `unchanged: keeping preview ${keep.id} (same context, manifest and environment)${check.url ? ` at ${check.url}` : ''}`);
  return {
    status: 'unchanged',
    deploymentId: keep.id,
    deploymentStatus: keep.rawStatus,
    buildId: keep.buildId,
    buildReused: true,
    url: check.url,
    expiresAt: keep.expiresAt,
  };
}

async function runOne(platform: Platform, agent: PreparedAgent, options: RunOptions): Promise<AgentResult> {
  const result: AgentResult = {
    agent: agent.manifest.agent.name,
    manifest: agent.manifest.file,
    status: 'failed',
    treeHash: agent.packed.treeHash,
    previewLabel: options.mode === 'preview' ? options.preview?.label : undefined,
  };
  let phase: Phase = 'build';
  try {
    if (options.mode === 'preview' && options.preview && options.redeploy !== 'always' && options.reuse !== false) {
      const kept = await keepUnchangedPreview(platform, agent, { ...options, preview: options.preview });
      if (kept) return { ...result, ...kept };
    }
    let source: { buildId?: string; image?: { name: string; tag: string } };
    if (platform.builder) {
      const { build, reused } = await ensureBuild(platform.builder, agent, {
        reporter: options.reporter,
        signal: options.signal,
        pollIntervalMs: options.pollIntervalMs,
        timeoutMs: options.timeoutMs,
        buildArgs: options.buildArgs,
        buildPlatform: options.buildPlatform,
        provenance: options.provenance,
        reuse: options.reuse,
        previewLabel: options.mode === 'preview' ? options.preview?.label : undefined,
      });
      result.buildId = build.id;
      result.buildReused = reused;
      source = { buildId: build.id };
    } else {
      const image = options.image
        ? resolveImage(options.image, result.agent)
        : { name: agent.manifest.image.repository ?? agent.manifest.image.name, tag: agent.manifest.image.tag };
      options.reporter.info(`${result.agent}: ${platform.name} does not build images; deploying the pushed image ${image.name}:${image.tag}`);
      source = { image };
    }
    if (options.mode === 'build') {
      result.status = 'built';
      return result;
    }
    phase = 'deploy';
    const outcome = await deployAgent(platform, agent, source, {
      reporter: options.reporter,
      signal: options.signal,
      pollIntervalMs: options.pollIntervalMs,
      timeoutMs: options.timeoutMs,
      preview: options.mode === 'preview' ? options.preview : undefined,
      wait: options.wait,
      urlTemplate: options.urlTemplate,
      urlVariables: options.urlVariables,
      sourceRepo: options.provenance?.repo,
      stillWanted: options.stillWanted,
    });
    result.deploymentId = outcome.deployment.id;
    result.deploymentStatus = outcome.deployment.rawStatus;
    result.expiresAt = outcome.deployment.expiresAt;
    result.url = outcome.url;
    result.replaced = outcome.replaced;
    result.status = outcome.deployment.phase === 'healthy' ? 'healthy' : 'deployed';
    return result;
  } catch (err) {
    if (options.signal?.aborted) throw err;
    // Reported once, by the door, from the result (a warning here too said it twice).
    const message = redact(err instanceof Error ? err.message : String(err));
    if (err instanceof UnwantedPreviewError) {
      return { ...result, status: err.wanted, error: message, deploymentId: err.deploymentId, ...(err.leftRunning ? { leftRunning: true } : {}) };
    }
    result.error = message;
    if (err instanceof PhaseError) {
      result.failedPhase = err.phase;
      result.logTail = err.logTail;
      result.buildId ??= err.buildId;
      result.deploymentId ??= err.deploymentId;
    } else {
      result.failedPhase = phase;
    }
    return result;
  }
}
