import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import { AGENTEX_LABEL_RULE } from '../platforms/agentex/label.js';
import type { LabelRule } from '../platforms/platform.js';
import { formatSourceRepo, type SourceRepo } from './source-repo.js';

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

/**
 * A preview label names whose preview it is. On Agentex the label is the one field a deployment
 * keeps for us (`POST /v5/agentex/deployments` takes manifest, environment, build, `preview_label`
 * and `expires_at`, nothing else; seeds/000 and /work/shared/PLATFORMS.md), while the build, which
 * does record `source_repo`, is shared by every repository that packs the same tree. So the label
 * carries the identity itself: `pr-7-3f9a2c`, where `3f9a2c` is a short hash of the repository and
 * of the template filled with everything but `{sha}`. It stays readable in the platform's dashboard
 * (the PR number first), is unique per repository and PR (or branch), and is the same for every push
 * of a PR, so that the previews of a `{sha}` template can still be found by their PR.
 * Without a repository (the CLI without `--repo`) the label is the template filled in, as before,
 * with the hash added only where sanitising lost information, cut it, or `{sha}` makes it change.
 */
export interface PreviewLabels extends ResolvedLabel {
  /** The hash suffix (`-3f9a2c`) every label of this identity ends with; absent when the label is plain. */
  identitySuffix?: string;
  /** The label before identities were hashed in (the template filled in and sanitized): older previews may carry it. */
  legacyLabel: string;
  /** Whether the template changes per push (`{sha}`): the PR's previews have labels other than `label`. */
  perPush: boolean;
}

const PLACEHOLDERS = new Set(['number', 'branch', 'sha']);
const HASH_LENGTH = 6;

/**
 * The preview label for a run: the template (default `pr-{number}`) filled in, then sanitized as
 * the platform does (`rule`, the platform's own; Agentex's when no platform is known yet), with the
 * identity hash when `repo` is given (see `PreviewLabels`). `field` names the flag or input in errors.
 */
export function resolvePreviewLabel(
  template: string | undefined,
  vars: LabelVariables,
  field = 'preview-label',
  rule: LabelRule = AGENTEX_LABEL_RULE,
  repo?: SourceRepo,
): PreviewLabels {
  const source = template?.trim() || DEFAULT_LABEL_TEMPLATE;
  const filled = fillTemplate(source, vars, field, false);
  const sanitized = rule.sanitize(filled);
  if (!sanitized) {
    throw new InputError(`"${filled}" has no letters or digits, so it sanitizes to an empty label; use lowercase letters, digits and hyphens`, { field });
  }
  const perPush = /\{sha\}/.test(source);
  // Sanitizing changed it (case, characters, length): two different inputs may now look the same.
  const lossy = sanitized !== filled;
  if (!repo && !lossy && !perPush) return { label: sanitized, legacyLabel: sanitized, perPush };
  const identitySuffix = `-${identityHash(source, vars, field, repo)}`;
  const label = withSuffix(sanitized, identitySuffix, rule);
  const why = repo ? `the repository and ${perPush ? 'pull request or branch' : 'label'}` : 'what sanitizing lost';
  const note = lossy
    ? `preview label "${filled}" became "${label}": the platform allows ${rule.description}, and the ending hashes ${why} so that labels never collide`
    : undefined;
  return { label, note, identitySuffix, legacyLabel: sanitized, perPush };
}

/** The label with the suffix, its start cut as far as the platform's rule needs (rules say their length in words only). */
function withSuffix(label: string, suffix: string, rule: LabelRule): string {
  for (let length = label.length; length > 0; length--) {
    const candidate = `${label.slice(0, length).replace(/-+$/, '')}${suffix}`;
    if (rule.sanitize(candidate) === candidate) return candidate;
  }
  throw new Error(`the platform's label rule (${rule.description}) leaves no room for the identity hash "${suffix}"`);
}

/** The short hash of a preview's identity: its repository and its template filled with all but `{sha}`. */
function identityHash(template: string, vars: LabelVariables, field: string, repo?: SourceRepo): string {
  const identity = `${repo ? formatSourceRepo(repo) : ''}\n${fillTemplate(template, vars, field, true)}`;
  return createHash('sha256').update(identity).digest('hex').slice(0, HASH_LENGTH);
}

function fillTemplate(source: string, vars: LabelVariables, field: string, keepSha: boolean): string {
  return source.replace(/\{([^{}]*)\}/g, (whole, name: string) => {
    if (!PLACEHOLDERS.has(name)) {
      throw new InputError(`unknown placeholder {${name}} in "${source}"; use {number}, {branch} or {sha}`, { field });
    }
    if (keepSha && name === 'sha') return whole;
    const value = vars[name as keyof LabelVariables];
    if (value === undefined || value === '') {
      throw new InputError(`"${source}" needs {${name}}, which this run does not have; pass the label explicitly`, { field });
    }
    return name === 'sha' ? String(value).slice(0, 7) : String(value);
  });
}

/** Whether a preview's label is one of this identity's: the label itself, or under `{sha}` any label with its hash. */
export function labelBelongs(label: string | undefined, labels: PreviewLabels): boolean {
  if (!label) return false;
  if (label === labels.label) return true;
  return Boolean(labels.perPush && labels.identitySuffix && label.endsWith(labels.identitySuffix));
}
