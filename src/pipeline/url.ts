import { InputError } from '../errors.js';
import { urlCarriesCredential } from '../secrets/redact.js';

export interface UrlVariables {
  id?: string;
  label?: string;
  release?: string;
  namespace?: string;
  agent?: string;
  number?: string | number;
  sha?: string;
}

const KNOWN = new Set(['id', 'label', 'release', 'namespace', 'agent', 'number', 'sha']);

/** Checks a `preview-url` template up front: known placeholders, an http(s) URL, no credential. */
export function validateUrlTemplate(template: string, field = 'preview-url'): void {
  for (const [, name] of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!KNOWN.has(name)) {
      throw new InputError(`unknown placeholder {${name}}; use ${[...KNOWN].map((key) => `{${key}}`).join(', ')}`, { field });
    }
  }
  const sample = renderUrlTemplate(template, { id: 'x', label: 'x', release: 'x', namespace: 'x', agent: 'x', number: 1, sha: 'x' });
  if (!/^https?:\/\/[^/\s]+/i.test(sample)) throw new InputError(`"${template}" must start with http:// or https://`, { field });
  if (urlCarriesCredential(sample)) throw new InputError('the URL template must not carry a credential', { field });
}

/** Fills `{placeholders}`; each value is URL-escaped so a branch name cannot reshape the URL. */
export function renderUrlTemplate(template: string, vars: UrlVariables): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    const value = (vars as Record<string, string | number | undefined>)[name];
    return value === undefined || value === '' ? whole : encodeURIComponent(String(value));
  });
}
