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
 * and `expires_at`, nothing else; seeds/000 and /work/shared/PLATFORMS.md), while the build records
 * `source_repo`. Labels are for finding, records for deciding (`previews/teardown.ts`): a close lists
 * the deployments under the label and deletes only those whose own records name the closing
 * repository. So the label carries the identity only to keep repositories and pull requests apart
 * when finding: `pr-7-3f9a2c41d07e`, where the ending is a 48-bit hash of the repository and of the
 * sanitized label. It stays readable in the platform's dashboard (the PR number first), is unique
 * per repository and PR (or branch), and is the same for every push of a PR.
 *
 * Under a `{sha}` template every push has its own label, `<per-PR part>-<sha7>`: the per-PR part
 * (the template filled with everything but `{sha}`, sanitized, then the hash) is a prefix shared by
 * every push of that PR and by nothing else, so a close finds them all by that exact shape.
 *
 * Without a repository (the CLI without `--repo`) the label is the template filled in, as before,
 * with the hash added only where sanitising lost information, cut it, or `{sha}` makes it change.
 */
export interface PreviewLabels extends ResolvedLabel {
  /** Whether the label ends in the identity hash. */
  hashed: boolean;
  /** The label before identities were hashed in (the template filled in and sanitized): older previews may carry it. */
  legacyLabel: string;
  /**
   * The label the previous version made for the same run: a 6-hex-digit hash over the raw template.
   * A close looks under it too; the records decide whose each preview found there is.
   */
  shortHashLabel?: string;
  /** Under `{sha}`: the ending the previous version gave every push's label (`-<6 hex>`); the sweep reads it. */
  shortHashPushSuffix?: string;
  /** Whether the template changes per push (`{sha}`): the PR's previews have labels other than `label`. */
  perPush: boolean;
  /** Under `{sha}`: what every push's label of this PR starts with, followed by `-` and seven hex digits. */
  pushPrefix?: string;
}

const PLACEHOLDERS = new Set(['number', 'branch', 'sha']);
/** 12 hex digits, 48 bits: finding a colliding repository name or branch takes about 2^47 tries. */
export const IDENTITY_HASH_LENGTH = 12;
const SHORT_HASH_LENGTH = 6;
const SHA_LENGTH = 7;

/**
 * The preview label for a run: the template (default `pr-{number}`) filled in, then sanitized as
 * the platform does (`rule`, the platform's own; Agentex's when no platform is known yet), with the
 * identity hash when `repo` is given (see `PreviewLabels`). `field` names the flag, input or config
 * field in errors. A repository's template must name something that varies per pull request or
 * branch (`{number}`, `{branch}` or `{sha}`): one label for every pull request would make every
 * close of the repository find every preview of it.
 */
export function resolvePreviewLabel(
  template: string | undefined,
  vars: LabelVariables,
  field = 'preview-label',
  rule: LabelRule = AGENTEX_LABEL_RULE,
  repo?: SourceRepo,
): PreviewLabels {
  const source = template?.trim() || DEFAULT_LABEL_TEMPLATE;
  if (repo) requireVaryingPlaceholder(source, { field });
  const filled = fillTemplate(source, vars, field);
  const sanitized = rule.sanitize(filled);
  if (!sanitized) {
    throw new InputError(`"${filled}" has no letters or digits, so it sanitizes to an empty label; use lowercase letters, digits and hyphens`, { field });
  }
  const perPush = /\{sha\}/.test(source);
  // Sanitizing changed it (case, characters, length): two different inputs may now look the same.
  const lossy = sanitized !== filled;
  if (!repo && !lossy && !perPush) return { label: sanitized, legacyLabel: sanitized, perPush, hashed: false };
  const earlier = shortHashLabels(source, vars, field, rule, repo, sanitized);
  const labels: PreviewLabels = perPush
    ? { ...perPushLabel(source, vars, field, rule, repo), legacyLabel: sanitized, perPush, hashed: true, ...earlier }
    : { label: withSuffix(sanitized, `-${identityHash(repo, sanitized, source, vars)}`, rule).label, legacyLabel: sanitized, perPush, hashed: true, ...earlier };
  const why = repo ? `the repository and ${perPush ? 'pull request or branch' : 'label'}` : 'what sanitizing lost';
  if (lossy) {
    labels.note = `preview label "${filled}" became "${labels.label}": the platform allows ${rule.description}, and the hash in it stands for ${why} so that labels never collide`;
  }
  return labels;
}

/** Refuses a template that is the same for every pull request and branch, naming where it was given. */
export function requireVaryingPlaceholder(template: string, where: { file?: string; field: string }): void {
  if (/\{(number|branch|sha)\}/.test(template)) return;
  throw new InputError(
    `"${template}" names no {number}, {branch} or {sha}, so every pull request of the repository would get the same label; put one of them in it (e.g. "${template}-{number}")`,
    where,
  );
}

/** PREVIEW_LABEL, the app's template for repositories that set none: checked at start like a repository's. */
export function checkDefaultLabelTemplate(template: string): void {
  resolvePreviewLabel(template, { number: 1, branch: 'main', sha: '0000000' }, 'PREVIEW_LABEL');
  requireVaryingPlaceholder(template.trim(), { field: 'PREVIEW_LABEL' });
}

/** `<per-PR part>-<hash>-<sha7>`: the per-PR part is a prefix no other pull request's labels share. */
function perPushLabel(template: string, vars: LabelVariables, field: string, rule: LabelRule, repo?: SourceRepo): { label: string; pushPrefix: string } {
  const sha = String(vars.sha ?? '')
    .slice(0, SHA_LENGTH)
    .toLowerCase();
  if (!/^[0-9a-f]{7}$/.test(sha)) throw new InputError(`"${template}" needs {sha}, the commit's hash, which this run does not have as seven hex digits`, { field });
  const identity = rule.sanitize(fillTemplate(template, vars, field, ''));
  // A template naming neither the PR nor the branch (`{sha}` alone) still keeps each PR's pushes together.
  const perPull = /\{(number|branch)\}/.test(template) || vars.number === undefined ? '' : `#${vars.number}`;
  const hash = identityHash(repo, `${identity}${perPull}`, template, vars);
  const { base } = withSuffix(identity, `-${hash}-${sha}`, rule);
  const pushPrefix = base ? `${base}-${hash}` : hash;
  return { label: `${pushPrefix}-${sha}`, pushPrefix };
}

/** The label with the suffix, its start cut as far as the platform's rule needs (rules say their length in words only). */
function withSuffix(label: string, suffix: string, rule: LabelRule): { label: string; base: string } {
  if (!label) {
    const bare = suffix.replace(/^-/, '');
    if (rule.sanitize(bare) === bare) return { label: bare, base: '' };
  }
  for (let length = label.length; length > 0; length--) {
    const base = label.slice(0, length).replace(/-+$/, '');
    const candidate = `${base}${suffix}`;
    if (rule.sanitize(candidate) === candidate) return { label: candidate, base };
  }
  throw new Error(`the platform's label rule (${rule.description}) leaves no room for the identity hash "${suffix}"`);
}

/**
 * The hash of a preview's identity: its repository and its sanitized label (under `{sha}`, the
 * per-PR part), not the raw template, so that characters the platform drops buy no variations. The
 * branch, where the template names it, goes in as the forge names it: `feature/a` and `feature-a`
 * sanitize alike and are still two branches.
 */
function identityHash(repo: SourceRepo | undefined, sanitized: string, template: string, vars: LabelVariables): string {
  const branch = /\{branch\}/.test(template) ? `\n${vars.branch ?? ''}` : '';
  return createHash('sha256')
    .update(`${repo ? formatSourceRepo(repo) : ''}\n${sanitized}${branch}`)
    .digest('hex')
    .slice(0, IDENTITY_HASH_LENGTH);
}

/** What the previous version made: 6 hex digits over the repository and the raw template filled with all but `{sha}`. */
function shortHashLabels(
  template: string,
  vars: LabelVariables,
  field: string,
  rule: LabelRule,
  repo: SourceRepo | undefined,
  sanitized: string,
): Pick<PreviewLabels, 'shortHashLabel' | 'shortHashPushSuffix'> {
  const identity = `${repo ? formatSourceRepo(repo) : ''}\n${fillTemplate(template, vars, field, '{sha}')}`;
  const suffix = `-${createHash('sha256').update(identity).digest('hex').slice(0, SHORT_HASH_LENGTH)}`;
  try {
    return { shortHashLabel: withSuffix(sanitized, suffix, rule).label, shortHashPushSuffix: /\{sha\}/.test(template) ? suffix : undefined };
  } catch {
    return {};
  }
}

/** The template filled in; `sha` replaces `{sha}` when given (the per-PR part leaves it out). */
function fillTemplate(source: string, vars: LabelVariables, field: string, sha?: string): string {
  return source.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    if (!PLACEHOLDERS.has(name)) {
      throw new InputError(`unknown placeholder {${name}} in "${source}"; use {number}, {branch} or {sha}`, { field });
    }
    if (name === 'sha' && sha !== undefined) return sha;
    const value = vars[name as keyof LabelVariables];
    if (value === undefined || value === '') {
      throw new InputError(`"${source}" needs {${name}}, which this run does not have; pass the label explicitly`, { field });
    }
    return name === 'sha' ? String(value).slice(0, SHA_LENGTH) : String(value);
  });
}

/**
 * Whether a preview's label is one of this identity's: the label itself, or under `{sha}` exactly
 * the per-PR prefix followed by seven hex digits (not any label merely containing the hash).
 */
export function labelBelongs(label: string | undefined, labels: PreviewLabels): boolean {
  if (!label) return false;
  if (label === labels.label) return true;
  return isPushLabel(label, labels.pushPrefix);
}

function isPushLabel(label: string, prefix: string | undefined): boolean {
  return Boolean(prefix) && label.length === prefix!.length + 1 + SHA_LENGTH && label.startsWith(`${prefix}-`) && /^[0-9a-f]+$/.test(label.slice(-SHA_LENGTH));
}

/** The exact labels a close lists: this version's, the previous version's (6 hex digits), and with a repository the unhashed one. */
export function lookupLabels(labels: PreviewLabels, withLegacy: boolean): string[] {
  const all = [labels.label, labels.shortHashLabel, withLegacy ? labels.legacyLabel : undefined];
  return [...new Set(all.filter((label): label is string => Boolean(label)))];
}
