import { InputError } from '../../errors.js';
import { registerSecret } from '../../secrets/redact.js';

export const DEFAULT_AGENTEX_URL = 'https://api.egp.scale.com';

export interface AgentexSettings {
  baseUrl: string;
  apiKey: string;
  accountId?: string;
}

export interface AgentexSettingsInput {
  baseUrl?: string;
  apiKey?: string;
  accountId?: string;
}

/**
 * Explicit settings first, then `SGP_CLIENT_BASE_URL`, `SGP_API_KEY` and `SGP_ACCOUNT_ID`.
 * The key is registered as a secret before anything can print it.
 */
export function resolveAgentexSettings(input: AgentexSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): AgentexSettings {
  const apiKey = nonEmpty(input.apiKey) ?? nonEmpty(env.SGP_API_KEY);
  registerSecret(apiKey);
  const accountId = nonEmpty(input.accountId) ?? nonEmpty(env.SGP_ACCOUNT_ID);
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.SGP_CLIENT_BASE_URL) ?? DEFAULT_AGENTEX_URL;
  if (!apiKey) {
    throw new InputError('no Agentex API key: set SGP_API_KEY (or pass --api-key / the api-key input)', { field: 'api-key' });
  }
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new InputError(`"${baseUrl}" is not a URL; give the API base, e.g. ${DEFAULT_AGENTEX_URL}`, { field: 'api-url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`"${baseUrl}" must be an http(s) URL`, { field: 'api-url' });
  }
  if (parsed.username || parsed.password) {
    throw new InputError('the API URL must not carry credentials; pass the key as api-key / SGP_API_KEY', { field: 'api-url' });
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey, accountId };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
