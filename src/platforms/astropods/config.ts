import { InputError } from '../../errors.js';
import { registerSecret } from '../../secrets/redact.js';

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
  const token = nonEmpty(input.token) ?? nonEmpty(env.ASTRO_ACCESS_TOKEN);
  registerSecret(token);
  if (!token) {
    throw new InputError('no Astropods access token: set ASTRO_ACCESS_TOKEN (or pass --api-key / the api-key input)', { field: 'api-key' });
  }
  const account = nonEmpty(input.account) ?? nonEmpty(env.ASTRO_ACCOUNT);
  if (!account) {
    throw new InputError('no Astropods account: set ASTRO_ACCOUNT (or pass --account-id / the account-id input)', { field: 'account-id' });
  }
  const baseUrl = nonEmpty(input.baseUrl) ?? nonEmpty(env.ASTRO_API_URL) ?? DEFAULT_ASTROPODS_URL;
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new InputError(`"${baseUrl}" is not a URL; give the API base, e.g. ${DEFAULT_ASTROPODS_URL}`, { field: 'api-url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`"${baseUrl}" must be an http(s) URL`, { field: 'api-url' });
  }
  if (parsed.username || parsed.password) {
    throw new InputError('the API URL must not carry credentials; pass the token as ASTRO_ACCESS_TOKEN', { field: 'api-url' });
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), token, account };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
