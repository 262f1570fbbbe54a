import { InputError } from '../../errors.js';
import { checkApiUrl, credentialSetting, nonEmpty } from '../settings.js';

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
  const apiKey = credentialSetting(input.apiKey, env, 'NULLSPACE_API_KEY', 'Nullspace API key');
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.NULLSPACE_API_URL);
  if (!baseUrl) {
    throw new InputError('no Nullspace API URL: set NULLSPACE_API_URL (or pass --api-url / the api-url input)', { field: 'api-url' });
  }
  return { baseUrl: checkApiUrl(baseUrl, { example: 'https://api.nullspace.example', keyVariable: 'NULLSPACE_API_KEY' }), apiKey };
}
