import { AGENT_STATUSES, type AgentStatus } from '../agent-result.js';
import { InputError } from '../errors.js';
import type { CloseStatus } from '../previews/close.js';
import { expandManifestPatterns } from '../pipeline/agent.js';
import { parseBuildArgs } from '../pipeline/build-args.js';
import { parseDuration } from '../duration.js';
import { DEFAULT_MAX_PARALLEL, parseMaxParallel, parseRedeployPolicy, type RedeployPolicy } from '../pipeline/run.js';
import { validateUrlTemplate } from '../pipeline/url.js';
import { parsePlatformName, type PlatformName } from '../platforms/index.js';
import { registerSecret, urlCarriesCredential } from '../secrets/redact.js';
import { stickyMarker } from '../forge/comment.js';
import { messageScript, type SmokeScript } from '../conversation/script.js';

/** Every input of action.yml; a test checks that action.yml and the README name exactly these. */
export const ACTION_INPUTS = [
  'platform',
  'api-url',
  'api-key',
  'account-id',
  'manifest',
  'environment',
  'mode',
  'preview-label',
  'ttl',
  'preview-url',
  'deploy-branches',
  'only-changed',
  'max-parallel',
  'redeploy',
  'build-args',
  'build-platform',
  'sdk-exact',
  'image',
  'wait',
  'timeout',
  'poll-interval',
  'github-token',
  'comment',
  'comment-key',
  'deployments',
  'smoke',
  'smoke-message',
  'agentex-url',
] as const;
export type ActionInputName = (typeof ACTION_INPUTS)[number];

export const ACTION_OUTPUTS = ['preview-url', 'deployment-id', 'build-id', 'preview-label', 'status', 'build-reused', 'agents', 'smoke', 'smoke-report'] as const;

/** `auto`: hold the conversations where there are any, a failed one fails the step; `report`: never fail the step; `off`. */
export type SmokeMode = 'auto' | 'report' | 'off';
const SMOKE_MODES: SmokeMode[] = ['auto', 'report', 'off'];

/** Every value of the `status` output: an agent's (the first one's), a close's, or `skipped` (action.yml lists them all). */
export const ACTION_STATUSES = [...AGENT_STATUSES, 'removed', 'kept', 'skipped'] as const;
// A status the pipeline or a close can end in that is not listed above fails to compile here.
const everyStatusListed: [Exclude<AgentStatus | CloseStatus, (typeof ACTION_STATUSES)[number]>] extends [never] ? true : false = true;
void everyStatusListed;

export type ActionMode = 'auto' | 'preview' | 'deploy' | 'build' | 'teardown';
const MODES: ActionMode[] = ['auto', 'preview', 'deploy', 'build', 'teardown'];

export interface ActionInputs {
  platform: PlatformName;
  apiUrl?: string;
  apiKey?: string;
  accountId?: string;
  /** Absolute manifest paths, globs expanded. */
  manifests: string[];
  /**
   * Why the manifest input matches nothing, raised before any build or deploy. A close still tears
   * down without it: the PR may have deleted its own agents.
   */
  manifestsError?: InputError;
  environment?: string;
  mode: ActionMode;
  labelTemplate?: string;
  ttlMs: number;
  previewUrl?: string;
  deployBranches: string[];
  onlyChanged: boolean;
  /** Pack with the SDK's .dockerignore rule alone, so working_tree_hash always equals the SDK's. */
  sdkExact: boolean;
  /** How many agents build and deploy at once. */
  maxParallel: number;
  /** `auto`: an unchanged agent keeps its live preview; `always`: every agent is deployed again. */
  redeploy: RedeployPolicy;
  buildArgs?: Record<string, string>;
  buildPlatform?: string;
  /** The pushed image (`name:tag`, `{agent}` filled in), for platforms that deploy images rather than build them. */
  image?: string;
  wait: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  githubToken?: string;
  comment: boolean;
  /** Keeps this workflow's sticky comment apart from another workflow's on the same PR. */
  commentKey?: string;
  deployments: boolean;
  smoke: SmokeMode;
  /** A one-turn conversation (expecting a non-empty reply) for agents without a preview-smoke.yaml. */
  smokeScript?: SmokeScript;
  /** The Agentex server that holds conversations (Agentex only). */
  agentexUrl?: string;
}

/** Reads `INPUT_*` the way the runner sets them (upper-cased, spaces as underscores, hyphens kept). */
export function rawInput(env: NodeJS.ProcessEnv, name: ActionInputName): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

function booleanInput(env: NodeJS.ProcessEnv, name: ActionInputName, fallback: boolean): boolean {
  const value = rawInput(env, name).toLowerCase();
  if (!value) return fallback;
  if (['true', 'yes', 'on', '1'].includes(value)) return true;
  if (['false', 'no', 'off', '0'].includes(value)) return false;
  throw new InputError(`"${rawInput(env, name)}" is not true or false`, { field: name });
}

function listInput(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Validates every input before anything else happens; secrets are masked first. */
export async function readInputs(env: NodeJS.ProcessEnv, workspace: string): Promise<ActionInputs> {
  const apiKey = rawInput(env, 'api-key') || undefined;
  const githubToken = rawInput(env, 'github-token') || undefined;
  registerSecret(apiKey);
  registerSecret(githubToken);

  const modeText = (rawInput(env, 'mode') || 'auto').toLowerCase();
  if (!MODES.includes(modeText as ActionMode)) throw new InputError(`"${modeText}" is not a mode; use ${MODES.join(', ')}`, { field: 'mode' });
  const previewUrl = rawInput(env, 'preview-url') || undefined;
  if (previewUrl) validateUrlTemplate(previewUrl, 'preview-url');

  return {
    platform: parsePlatformName(rawInput(env, 'platform') || 'agentex'),
    apiUrl: rawInput(env, 'api-url') || undefined,
    apiKey,
    accountId: rawInput(env, 'account-id') || undefined,
    ...(await manifestsOf(listInput(rawInput(env, 'manifest') || 'manifest.yaml'), workspace)),
    environment: rawInput(env, 'environment') || undefined,
    mode: modeText as ActionMode,
    labelTemplate: rawInput(env, 'preview-label') || undefined,
    ttlMs: parseDuration(rawInput(env, 'ttl') || '8h', 'ttl', { minMs: 60_000, maxMs: 30 * 86_400_000 }),
    previewUrl,
    deployBranches: listInput(rawInput(env, 'deploy-branches')),
    onlyChanged: booleanInput(env, 'only-changed', true),
    sdkExact: booleanInput(env, 'sdk-exact', false),
    maxParallel: parseMaxParallel(rawInput(env, 'max-parallel') || String(DEFAULT_MAX_PARALLEL), 'max-parallel'),
    redeploy: parseRedeployPolicy(rawInput(env, 'redeploy') || 'auto', 'redeploy'),
    buildArgs: parseBuildArgs(rawInput(env, 'build-args'), 'build-args'),
    buildPlatform: rawInput(env, 'build-platform') || undefined,
    image: rawInput(env, 'image') || undefined,
    wait: booleanInput(env, 'wait', true),
    timeoutMs: parseDuration(rawInput(env, 'timeout') || '30m', 'timeout', { minMs: 1000, maxMs: 6 * 3_600_000 }),
    pollIntervalMs: parseDuration(rawInput(env, 'poll-interval') || '5s', 'poll-interval', { minMs: 100, maxMs: 600_000 }),
    githubToken,
    comment: booleanInput(env, 'comment', true),
    commentKey: commentKeyInput(rawInput(env, 'comment-key')),
    deployments: booleanInput(env, 'deployments', true),
    ...smokeInputs(env),
  };
}

function smokeInputs(env: NodeJS.ProcessEnv): Pick<ActionInputs, 'smoke' | 'smokeScript' | 'agentexUrl'> {
  const smoke = (rawInput(env, 'smoke') || 'auto').toLowerCase();
  if (!SMOKE_MODES.includes(smoke as SmokeMode)) throw new InputError(`"${rawInput(env, 'smoke')}" is not a smoke mode; use ${SMOKE_MODES.join(', ')}`, { field: 'smoke' });
  const message = rawInput(env, 'smoke-message');
  const agentexUrl = rawInput(env, 'agentex-url') || undefined;
  if (agentexUrl && !/^https?:\/\/[^\s/]+/i.test(agentexUrl)) throw new InputError(`"${agentexUrl}" is not an http(s) URL`, { field: 'agentex-url' });
  if (agentexUrl && urlCarriesCredential(agentexUrl)) throw new InputError('carries a credential; give the key with api-key instead, so it stays masked', { field: 'agentex-url' });
  return { smoke: smoke as SmokeMode, smokeScript: message ? messageScript(message) : undefined, agentexUrl };
}

function commentKeyInput(text: string): string | undefined {
  if (!text) return undefined;
  try {
    stickyMarker(text);
  } catch (err) {
    throw new InputError((err as Error).message, { field: 'comment-key' });
  }
  return text;
}

/** Expands globs (picomatch syntax: `*`, `**`, `?`, `[ab]`, `{a,b}`) against the workspace; plain paths must exist later. */
async function manifestsOf(patterns: string[], workspace: string): Promise<{ manifests: string[]; manifestsError?: InputError }> {
  try {
    return { manifests: await expandManifests(patterns, workspace) };
  } catch (err) {
    if (err instanceof InputError) return { manifests: [], manifestsError: err };
    throw err;
  }
}

/** The action's manifests: every pattern expanded against the workspace, sorted. */
export async function expandManifests(patterns: string[], workspace: string): Promise<string[]> {
  return (await expandManifestPatterns(patterns, workspace, 'manifest')).sort();
}
