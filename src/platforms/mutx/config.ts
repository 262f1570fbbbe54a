import { InputError } from '../../errors.js';
import { registerSecret } from '../../secrets/redact.js';

export interface MutxSettings {
  /** API origin without the `/v1` prefix and without a trailing slash. */
  baseUrl: string;
  apiKey: string;
}

export interface MutxSettingsInput {
  baseUrl?: string;
  apiKey?: string;
}

/**
 * Explicit settings first, then `MUTX_API_URL` and `MUTX_API_KEY` (the deployments reference names
 * no variables; these follow the house pattern). There is no default base URL. The key (a JWT or a
 * `mutx_live_` key) is registered as a secret before anything can print it. A base URL given with
 * the `/v1` prefix is accepted: the prefix is dropped because every route adds it.
 */
export function resolveMutxSettings(input: MutxSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): MutxSettings {
  const apiKey = nonEmpty(input.apiKey) ?? nonEmpty(env.MUTX_API_KEY);
  registerSecret(apiKey);
  if (!apiKey) {
    throw new InputError('no MUTX API key: set MUTX_API_KEY (or pass --api-key / the api-key input)', { field: 'api-key' });
  }
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.MUTX_API_URL);
  if (!baseUrl) {
    throw new InputError('no MUTX API URL: set MUTX_API_URL (or pass --api-url / the api-url input)', { field: 'api-url' });
  }
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new InputError(`"${baseUrl}" is not a URL; give the MUTX API base, e.g. https://api.mutx.example`, { field: 'api-url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`"${baseUrl}" must be an http(s) URL`, { field: 'api-url' });
  }
  if (parsed.username || parsed.password) {
    throw new InputError('the API URL must not carry credentials; pass the key as api-key / MUTX_API_KEY', { field: 'api-url' });
  }
  return { baseUrl: baseUrl.replace(/\/+$/, '').replace(/\/v1$/, ''), apiKey };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
