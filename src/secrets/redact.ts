/**
 * One process-wide list of secret values. Anything that leaves the process (logs, comments,
 * summaries, errors, outputs) goes through `redact` first.
 */
const secrets = new Set<string>();
const MASK = '***';

/**
 * Values shorter than this are not masked: a common word's length or shorter, so masking it would
 * mangle ordinary text ("is ***er than 16 characters" for the secret `short`) while hiding little.
 * Whoever accepts a secret warns when it is this short (the app already warns under 16 characters).
 */
export const MIN_MASKED_SECRET_LENGTH = 8;

/** Registers a secret value; values shorter than MIN_MASKED_SECRET_LENGTH are ignored (see there). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_MASKED_SECRET_LENGTH) return;
  secrets.add(value);
  // A value can leak in encoded forms too.
  secrets.add(encodeURIComponent(value));
  secrets.add(Buffer.from(value).toString('base64'));
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return redactCredentialUrls(out);
}

const CREDENTIAL_QUERY = /([?&](?:edge_token|token|access_token|api_key|apikey|key|sig|signature|X-Amz-Signature|X-Amz-Credential)=)[^&#\s"'<>)]+/gi;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:"'<>]+(?::[^\s/@"'<>]*)?@/gi;

/** Removes credentials carried inside URLs: userinfo and token-like query parameters. */
export function redactCredentialUrls(text: string): string {
  return text.replace(CREDENTIAL_QUERY, `$1${MASK}`).replace(URL_USERINFO, `$1${MASK}@`);
}

/** True when a URL carries a credential and must never be printed, commented or stored. */
export function urlCarriesCredential(url: string): boolean {
  return redactCredentialUrls(url) !== url;
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
}
