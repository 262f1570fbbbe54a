import { InputError } from '../errors.js';
import { AGENTEX_LABEL_RULE } from '../platforms/agentex/label.js';
import type { LabelRule } from '../platforms/platform.js';

export const DEFAULT_LABEL_TEMPLATE = 'pr-{number}';

export interface LabelVariables {
  number?: number | string;
  branch?: string;
  sha?: string;
}

export interface ResolvedLabel {
  label: string;
  /** Set when the input had to be changed to satisfy the platform's rule. */
  note?: string;
}

const PLACEHOLDERS = new Set(['number', 'branch', 'sha']);

/**
 * The preview label for a run: the template (default `pr-{number}`) filled in, then sanitized as
 * the platform does (`rule`, the platform's own; Agentex's when no platform is known yet). `field`
 * names the flag or input in errors.
 */
export function resolvePreviewLabel(
  template: string | undefined,
  vars: LabelVariables,
  field = 'preview-label',
  rule: LabelRule = AGENTEX_LABEL_RULE,
): ResolvedLabel {
  const source = template?.trim() || DEFAULT_LABEL_TEMPLATE;
  const filled = source.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    if (!PLACEHOLDERS.has(name)) {
      throw new InputError(`unknown placeholder {${name}} in "${source}"; use {number}, {branch} or {sha}`, { field });
    }
    const value = vars[name as keyof LabelVariables];
    if (value === undefined || value === '') {
      throw new InputError(`"${source}" needs {${name}}, which this run does not have; pass the label explicitly`, { field });
    }
    return name === 'sha' ? String(value).slice(0, 7) : String(value);
  });
  const label = rule.sanitize(filled);
  if (!label) {
    throw new InputError(
      `"${filled}" has no letters or digits, so it sanitizes to an empty label; use lowercase letters, digits and hyphens`,
      { field },
    );
  }
  if (label === filled) return { label };
  return { label, note: `preview label "${filled}" became "${label}": the platform allows ${rule.description}` };
}
