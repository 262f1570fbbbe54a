import { InputError } from '../../errors.js';
import { checkApiUrl, credentialSetting, nonEmpty } from '../settings.js';

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
  const apiKey = credentialSetting(input.apiKey, env, 'MUTX_API_KEY', 'MUTX API key');
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.MUTX_API_URL);
  if (!baseUrl) {
    throw new InputError('no MUTX API URL: set MUTX_API_URL (or pass --api-url / the api-url input)', { field: 'api-url' });
  }
  return { baseUrl: checkApiUrl(baseUrl, { example: 'https://api.mutx.example', keyVariable: 'MUTX_API_KEY' }).replace(/\/v1$/, ''), apiKey };
}
