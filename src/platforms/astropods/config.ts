import { InputError } from '../../errors.js';
import { checkApiUrl, credentialSetting, nonEmpty } from '../settings.js';

export const DEFAULT_ASTROPODS_URL = 'https://astropods.com/api/v1';

export interface AstropodsSettings {
  /** API base including `/api/v1`, without a trailing slash. */
  baseUrl: string;
  token: string;
  account: string;
}

export interface AstropodsSettingsInput {
  baseUrl?: string;
  token?: string;
  account?: string;
}

/**
 * Explicit settings first, then the environment: `ASTRO_ACCESS_TOKEN` (the name the platform
 * uses), `ASTRO_API_URL` and `ASTRO_ACCOUNT` (the deploy reference names no variables for these;
 * they follow the house pattern). The base defaults to the documented server. The token is
 * registered as a secret before anything can print it.
 */
export function resolveAstropodsSettings(input: AstropodsSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): AstropodsSettings {
  const token = credentialSetting(input.token, env, 'ASTRO_ACCESS_TOKEN', 'Astropods access token');
  const account = nonEmpty(input.account) ?? nonEmpty(env.ASTRO_ACCOUNT);
  if (!account) {
    throw new InputError('no Astropods account: set ASTRO_ACCOUNT (or pass --account-id / the account-id input)', { field: 'account-id' });
  }
  const baseUrl = checkApiUrl(nonEmpty(input.baseUrl) ?? nonEmpty(env.ASTRO_API_URL) ?? DEFAULT_ASTROPODS_URL, {
    example: DEFAULT_ASTROPODS_URL,
    keyVariable: 'ASTRO_ACCESS_TOKEN',
  });
  return { baseUrl, token, account };
}
