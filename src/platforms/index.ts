import { InputError } from '../errors.js';
import { DEFAULT_RETRY, type RetryNotice, type RetryPolicy } from '../http/client.js';
import { parseDuration } from '../duration.js';
import { AgentexPlatform } from './agentex/agentex.js';
import { ASTROPODS_LABEL_RULE, AstropodsPlatform } from './astropods/astropods.js';
import { MUTX_LABEL_RULE, MutxPlatform } from './mutx/mutx.js';
import { NULLSPACE_LABEL_RULE, NullspacePlatform } from './nullspace/nullspace.js';
import type { LabelRule, Platform } from './platform.js';
import { AGENTEX_LABEL_RULE } from './agentex/label.js';

export const PLATFORM_NAMES = ['agentex', 'local', 'nullspace', 'mutx', 'astropods'] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];

/** The environment variable each platform reads its key from when none is given. */
export const PLATFORM_KEY_VARIABLES: Record<PlatformName, string> = {
  agentex: 'SGP_API_KEY',
  local: 'AGENT_PREVIEW_LOCAL_KEY',
  nullspace: 'NULLSPACE_API_KEY',
  mutx: 'MUTX_API_KEY',
  astropods: 'ASTRO_ACCESS_TOKEN',
};

/** Where `agent-preview local-platform` listens unless told otherwise. */
export const DEFAULT_LOCAL_PORT = 4141;
export const DEFAULT_LOCAL_URL = `http://127.0.0.1:${DEFAULT_LOCAL_PORT}`;
/**
 * The local platform accepts any key unless started with one; this one is only a placeholder, and no
 * secret: shorter than MIN_MASKED_SECRET_LENGTH so that it is never masked (as `local-platform` was,
 * in every line that named the command).
 */
export const LOCAL_PLACEHOLDER_KEY = 'local';

export interface PlatformSettings {
  platform?: string;
  apiUrl?: string;
  apiKey?: string;
  accountId?: string;
  env?: NodeJS.ProcessEnv;
  onRetry?: (notice: RetryNotice) => void;
  /** How often and how patiently calls are retried; from AGENT_PREVIEW_RETRY_DELAY in `env` unless given. */
  retry?: Partial<RetryPolicy>;
  /** Told what a platform could not do where it degrades instead of failing (a route it lacks). */
  onNotice?: (message: string) => void;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  /**
   * Agentex only: the Agentex server that holds conversations with deployments (`AGENTEX_BASE_URL` in
   * SGP's docs), which is not the SGP Build & Deploy API. `local` serves both on one address.
   */
  agentexUrl?: string;
}

export function parsePlatformName(value: string | undefined, field = 'platform'): PlatformName {
  const name = (value ?? 'agentex').trim().toLowerCase() || 'agentex';
  if ((PLATFORM_NAMES as readonly string[]).includes(name)) return name as PlatformName;
  throw new InputError(`unknown platform "${value}"; choose one of ${PLATFORM_NAMES.join(', ')}`, { field });
}

/**
 * `AGENT_PREVIEW_RETRY_DELAY`: the first backoff delay of a retried platform call (default 250ms);
 * later ones double up to 80 times that, capped at the default 20s. For every door.
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): Partial<RetryPolicy> | undefined {
  const text = env.AGENT_PREVIEW_RETRY_DELAY;
  if (!text) return undefined;
  const minDelayMs = parseDuration(text, 'AGENT_PREVIEW_RETRY_DELAY', { minMs: 1, maxMs: 60_000 });
  return { minDelayMs, maxDelayMs: Math.max(minDelayMs, Math.min(DEFAULT_RETRY.maxDelayMs, minDelayMs * 80)) };
}

/** The platform client named by the settings; `local` is the Agentex client pointed at the local platform. */
export function createPlatform(settings: PlatformSettings): Platform {
  const name = parsePlatformName(settings.platform);
  const env = settings.env ?? process.env;
  const client = { onRetry: settings.onRetry, retry: settings.retry ?? retryPolicyFromEnv(env), timeoutMs: settings.requestTimeoutMs };
  switch (name) {
    case 'agentex':
      return new AgentexPlatform({ baseUrl: settings.apiUrl, apiKey: settings.apiKey, accountId: settings.accountId, agentexUrl: settings.agentexUrl, env, ...client });
    case 'local': {
      const baseUrl = settings.apiUrl || env.AGENT_PREVIEW_LOCAL_URL || DEFAULT_LOCAL_URL;
      return new AgentexPlatform({
        name: 'local',
        deploymentsCarryUrl: true,
        baseUrl,
        // The local platform serves the Agentex server's routes on its own address.
        agentexUrl: settings.agentexUrl || baseUrl,
        apiKey: settings.apiKey || env.AGENT_PREVIEW_LOCAL_KEY || LOCAL_PLACEHOLDER_KEY,
        accountId: settings.accountId || 'acct-local',
        env: {},
        ...client,
      });
    }
    case 'astropods':
      return new AstropodsPlatform({ baseUrl: settings.apiUrl, token: settings.apiKey, account: settings.accountId, env, ...client });
    case 'mutx':
      return new MutxPlatform({ baseUrl: settings.apiUrl, apiKey: settings.apiKey, env, ...client });
    case 'nullspace':
      return new NullspacePlatform({ baseUrl: settings.apiUrl, apiKey: settings.apiKey, env, onNotice: settings.onNotice, ...client });
    default:
      return unreachable(name);
  }
}

/**
 * Each platform's preview-label rule, known before any client exists (settings are checked before
 * anything is sent). A platform's client exposes the same rule as `labelRule`.
 */
export function labelRuleFor(platform: string | undefined): LabelRule {
  const name = parsePlatformName(platform);
  switch (name) {
    case 'agentex':
    case 'local':
      return AGENTEX_LABEL_RULE;
    case 'astropods':
      return ASTROPODS_LABEL_RULE;
    case 'mutx':
      return MUTX_LABEL_RULE;
    case 'nullspace':
      return NULLSPACE_LABEL_RULE;
    default:
      return unreachable(name);
  }
}

function unreachable(name: never): never {
  throw new Error(`no client for platform "${String(name)}"`);
}
