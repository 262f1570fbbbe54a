import { InputError } from '../errors.js';
import type { HttpClientOptions, RetryNotice } from '../http/client.js';
import { registerSecret } from '../secrets/redact.js';

/** A setting as given: trimmed, and undefined when blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * A platform credential from the explicit value, else its environment variable. It is registered
 * as a secret before anything can print it; missing, the error names the variable to set.
 */
export function credentialSetting(explicit: string | undefined, env: NodeJS.ProcessEnv, variable: string, what: string): string {
  const value = nonEmpty(explicit) ?? nonEmpty(env[variable]);
  registerSecret(value);
  if (!value) throw new InputError(`no ${what}: set ${variable} (or pass --api-key / the api-key input)`, { field: 'api-key' });
  return value;
}

/**
 * Checks an API base URL (http or https, no credentials in it) and returns it without a trailing
 * slash. `example` shows a good value; `keyVariable` says where the key belongs instead.
 */
export function checkApiUrl(baseUrl: string, options: { example: string; keyVariable: string; field?: string }): string {
  const field = options.field ?? 'api-url';
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new InputError(`"${baseUrl}" is not a URL; give the API base, e.g. ${options.example}`, { field });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`"${baseUrl}" must be an http(s) URL`, { field });
  }
  if (parsed.username || parsed.password) {
    throw new InputError(`the API URL must not carry credentials; pass the key as api-key / ${options.keyVariable}`, { field });
  }
  return baseUrl.replace(/\/+$/, '');
}

/** How every platform client talks HTTP, whatever its own settings. */
export interface PlatformClientOptions {
  retry?: HttpClientOptions['retry'];
  timeoutMs?: number;
  onRetry?: (notice: RetryNotice) => void;
  env?: NodeJS.ProcessEnv;
}
