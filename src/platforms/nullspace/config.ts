import { InputError } from '../../errors.js';
import { registerSecret } from '../../secrets/redact.js';

export interface NullspaceSettings {
  baseUrl: string;
  apiKey: string;
}

export interface NullspaceSettingsInput {
  baseUrl?: string;
  apiKey?: string;
}

/**
 * Explicit settings first, then `NULLSPACE_API_URL` and `NULLSPACE_API_KEY`. There is no default
 * base URL: the reference only shows a per-installation host. The key is registered as a secret
 * before anything can print it.
 */
export function resolveNullspaceSettings(input: NullspaceSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): NullspaceSettings {
  const apiKey = nonEmpty(input.apiKey) ?? nonEmpty(env.NULLSPACE_API_KEY);
  registerSecret(apiKey);
  if (!apiKey) {
    throw new InputError('no Nullspace API key: set NULLSPACE_API_KEY (or pass --api-key / the api-key input)', { field: 'api-key' });
  }
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.NULLSPACE_API_URL);
  if (!baseUrl) {
    throw new InputError('no Nullspace API URL: set NULLSPACE_API_URL (or pass --api-url / the api-url input)', { field: 'api-url' });
  }
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new InputError(`"${baseUrl}" is not a URL; give the Nullspace API base, e.g. https://api.nullspace.example`, { field: 'api-url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`"${baseUrl}" must be an http(s) URL`, { field: 'api-url' });
  }
  if (parsed.username || parsed.password) {
    throw new InputError('the API URL must not carry credentials; pass the key as api-key / NULLSPACE_API_KEY', { field: 'api-url' });
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
