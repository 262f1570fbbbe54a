import type { LabelRule } from '../platform.js';

/** The platform's preview-label rule: lowercase alphanumerics and hyphens, at most 30 characters. */
export const PREVIEW_LABEL_MAX = 30;

export interface SanitizedLabel {
  label: string;
  /** True when the input was not already a valid label and had to be changed. */
  changed: boolean;
}

/**
 * Sanitizes a preview label the way the Agentex API documents it: lowercased, every run of other
 * characters turned into one hyphen, no hyphen at either end, cut to 30 characters. The result
 * may be empty; callers must reject that.
 */
export function sanitizePreviewLabel(input: string): SanitizedLabel {
  let label = input
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (label.length > PREVIEW_LABEL_MAX) label = label.slice(0, PREVIEW_LABEL_MAX).replace(/-+$/, '');
  return { label, changed: label !== input };
}

/** Agentex's rule (seed 000: `preview_label` "sanitized to lowercase alphanumerics and hyphens, at most 30 characters"). */
export const AGENTEX_LABEL_RULE: LabelRule = {
  sanitize: (input) => sanitizePreviewLabel(input).label,
  description: `lowercase letters, digits and hyphens, at most ${PREVIEW_LABEL_MAX} characters`,
};
