/**
 * The sweep: a reconcile that needs no memory of past deliveries. It lists every live preview on the
 * platform, finds the repository each came from (its build's recorded `source_repo`) and the pull
 * request its label names (`pr-{number}`, or the repository's own template), asks that repository's
 * forge whether the pull request is closed, and deletes the previews of closed ones. Under a
 * `{branch}` template it lists the branches instead, and deletes previews no branch gives any more. A dry run (the
 * default) only reports. Previews it cannot attribute (no provenance, no forge for the host, a label
 * that names no pull request) are kept and reported with the reason.
 */
import { ApiError } from '../errors.js';
import type { Forge } from '../forge/forge.js';
import { DEFAULT_LABEL_TEMPLATE, labelBelongs, resolvePreviewLabel, type PreviewLabels } from '../pipeline/label.js';
import type { Deployment, LabelRule, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES } from '../platforms/platform.js';
import { redact } from '../secrets/redact.js';
import { cachedBuildLookup, ownerOfDeployment } from '../pipeline/ownership.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';
import { markClosed } from './close.js';
import { exactLabel } from './teardown.js';

export interface SweepLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface SweepOptions {
  platform: Platform;
  /** The forge serving a repository; undefined when this host is not one the sweep can ask. */
  forgeFor(repo: SourceRepo): Promise<Forge | undefined>;
  /** Report only, delete nothing. The default. */
  dryRun?: boolean;
  /** The repository's `preview-label` template; `pr-{number}` when absent. */
  labelTemplateFor?(repo: SourceRepo): Promise<string | undefined>;
  /** After deleting, mark the PR's sticky comment removed and its GitHub deployments inactive (default true). */
  markForge?: boolean;
  log?: SweepLog;
  signal?: AbortSignal;
}

export interface SweptPreview {
  deploymentId: string;
  agent?: string;
  label: string;
  /** `host/owner/repo`, when the build recorded it. */
  repo?: string;
  pullNumber?: number;
  /** Why it goes, or why it stays. */
  reason: string;
}

export interface SweepReport {
  dryRun: boolean;
  /** Live previews looked at. */
  examined: number;
  deleted: SweptPreview[];
  wouldDelete: SweptPreview[];
  kept: SweptPreview[];
  failed: (SweptPreview & { error: string })[];
}

interface Group {
  repo: SourceRepo;
  label: string;
  deployments: Deployment[];
}

/** One sweep as it goes: its options, its report, and each repository's label template, asked once. */
interface SweepRun {
  options: SweepOptions;
  platform: Platform;
  dryRun: boolean;
  log: SweepLog;
  signal?: AbortSignal;
  report: SweepReport;
  templateOf(repo: SourceRepo): Promise<string>;
}

export async function sweepPreviews(options: SweepOptions): Promise<SweepReport> {
  const run = startRun(options);
  for (const group of await groupByRepository(run)) await sweepGroup(run, group);
  return run.report;
}

function startRun(options: SweepOptions): SweepRun {
  const dryRun = options.dryRun ?? true;
  const templates = new Map<string, Promise<string>>();
  return {
    options,
    platform: options.platform,
    dryRun,
    log: options.log ?? { info: () => {}, warn: () => {} },
    signal: options.signal,
    report: { dryRun, examined: 0, deleted: [], wouldDelete: [], kept: [], failed: [] },
    templateOf(repo) {
      const key = formatSourceRepo(repo).toLowerCase();
      let template = templates.get(key);
      if (!template) {
        template = (options.labelTemplateFor?.(repo) ?? Promise.resolve(undefined)).then((found) => found || DEFAULT_LABEL_TEMPLATE);
        templates.set(key, template);
      }
      return template;
    },
  };
}

function entry(deployment: Deployment, reason: string, repo?: SourceRepo, pullNumber?: number): SweptPreview {
  return { deploymentId: deployment.id, agent: deployment.agentName, label: deployment.previewLabel ?? '', repo: repo ? formatSourceRepo(repo) : undefined, pullNumber, reason };
}

/** The group's previews are kept, with why. */
function keep(run: SweepRun, group: Group, reason: string, pullNumber?: number): void {
  run.report.kept.push(...group.deployments.map((d) => entry(d, reason, group.repo, pullNumber)));
}

/** The group's previews could not be decided on: a call failed. */
function fail(run: SweepRun, group: Group, reason: string, err: unknown, pullNumber?: number): void {
  const error = redact((err as Error).message);
  run.report.failed.push(...group.deployments.map((d) => ({ ...entry(d, reason, group.repo, pullNumber), error })));
}

/**
 * The live previews, grouped by the repository their records name and by label. A preview whose
 * records name no repository is kept; one whose build cannot be read is failed.
 */
async function groupByRepository(run: SweepRun): Promise<Group[]> {
  const { platform, signal, report } = run;
  const lookUpBuild = cachedBuildLookup(platform);
  const previews = (await platform.listDeployments({}, { signal })).filter((d) => d.previewLabel && !GONE_DEPLOY_PHASES.has(d.phase));
  report.examined = previews.length;
  const groups = new Map<string, Group>();
  for (const deployment of previews) {
    let repo: SourceRepo | undefined;
    try {
      repo = await ownerOfDeployment(deployment, lookUpBuild, { signal });
    } catch (err) {
      report.failed.push({ ...entry(deployment, 'its build could not be read'), error: redact((err as Error).message) });
      continue;
    }
    if (!repo) {
      report.kept.push(entry(deployment, 'nothing records which repository deployed it'));
      continue;
    }
    const key = `${formatSourceRepo(repo).toLowerCase()} ${deployment.previewLabel}`;
    const group = groups.get(key) ?? { repo, label: deployment.previewLabel ?? '', deployments: [] };
    group.deployments.push(deployment);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** One repository's previews of one label: what its label names (a pull request, a branch) decides. */
async function sweepGroup(run: SweepRun, group: Group): Promise<void> {
  let forge: Forge | undefined;
  let template: string;
  try {
    forge = await run.options.forgeFor(group.repo);
    template = await run.templateOf(group.repo);
  } catch (err) {
    return fail(run, group, 'the repository could not be reached', err);
  }
  if (!forge) return keep(run, group, `no forge is configured for ${group.repo.host}`);
  const pullNumber = pullNumberOfLabel(group.label, template, group.repo, run.platform.labelRule);
  if (pullNumber !== undefined) return sweepPullGroup(run, group, forge, pullNumber);
  if (isBranchTemplate(template)) return sweepBranchGroup(run, group, forge, template);
  keep(run, group, `the label does not name a pull request under the template "${template}"`);
}

/** Under a `{branch}` template: the previews go once no branch of the repository gives their label. */
async function sweepBranchGroup(run: SweepRun, group: Group, forge: Forge, template: string): Promise<void> {
  let branches: Set<string>;
  try {
    branches = await branchLabelsOf(forge, group.repo, template, run.platform.labelRule, run.signal);
  } catch (err) {
    return fail(run, group, 'the branches could not be listed', err);
  }
  if (branches.has(group.label)) return keep(run, group, 'its branch still exists');
  await removeGroup(run, group, forge, 'no branch of the repository gives this label any more (the branch is gone)');
}

/** The previews go once the forge says their pull request is closed. */
async function sweepPullGroup(run: SweepRun, group: Group, forge: Forge, pullNumber: number): Promise<void> {
  let pull: { state: 'open' | 'closed'; headSha: string };
  try {
    pull = await forge.getPullRequest({ owner: group.repo.owner, repo: group.repo.repo, number: pullNumber }, run.signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return keep(run, group, `pull request #${pullNumber} was not found`, pullNumber);
    return fail(run, group, 'the pull request could not be read', err, pullNumber);
  }
  if (pull.state === 'open') return keep(run, group, `pull request #${pullNumber} is open`, pullNumber);
  await removeGroup(run, group, forge, `pull request #${pullNumber} is closed`, pullNumber, pull.headSha || undefined);
}

/** Deletes (or, in a dry run, lists) one repository's previews of one label, then marks the forge. */
async function removeGroup(run: SweepRun, group: Group, forge: Forge, reason: string, pullNumber?: number, headSha?: string): Promise<void> {
  const { repo, label, deployments } = group;
  const { report, log, signal } = run;
  const where = `${label}, ${formatSourceRepo(repo)}`;
  if (run.dryRun) {
    for (const deployment of deployments) {
      report.wouldDelete.push(entry(deployment, reason, repo, pullNumber));
      log.info(`would delete preview ${deployment.id} (${where}): ${reason}`);
    }
    return;
  }
  let removedAll = true;
  for (const deployment of deployments) {
    try {
      await run.platform.deleteDeployment(deployment.id, { signal });
      report.deleted.push(entry(deployment, reason, repo, pullNumber));
      log.info(`deleted preview ${deployment.id} (${where}): ${reason}`);
    } catch (err) {
      if (signal?.aborted) throw err;
      removedAll = false;
      const error = redact((err as Error).message);
      report.failed.push({ ...entry(deployment, reason, repo, pullNumber), error });
      log.warn(`could not delete preview ${deployment.id}: ${error}`);
    }
  }
  if (removedAll && run.options.markForge !== false) await markGroupClosed(run, group, forge, pullNumber, headSha);
}

/** Marks the pull request's sticky comment removed and its deployments inactive; a forge that cannot be told is a warning. */
async function markGroupClosed(run: SweepRun, { repo, label, deployments }: Group, forge: Forge, pullNumber?: number, headSha?: string): Promise<void> {
  const agents = [...new Set(deployments.map((d) => d.agentName).filter((name): name is string => Boolean(name)))].sort();
  const where = pullNumber === undefined ? `${formatSourceRepo(repo)} (${label})` : `${formatSourceRepo(repo)}#${pullNumber}`;
  const marks = { forge, repoRef: { owner: repo.owner, repo: repo.repo }, pullNumber, headSha, platformName: run.platform.name, signal: run.signal };
  await markClosed(marks, exactLabel(label), { status: 'removed', agents, labels: [label], stillRunning: [] }).catch((err) =>
    run.log.warn(`previews of ${where} are gone, but the forge was not updated: ${redact((err as Error).message)}`),
  );
}

/** A template that names branches and nothing else that changes per push or per pull request. */
function isBranchTemplate(template: string): boolean {
  return template.includes('{branch}') && !/\{(number|sha)\}/.test(template);
}

/** The labels the repository's current branches give under the template, by the platform's label rule. */
async function branchLabelsOf(forge: Forge, repo: SourceRepo, template: string, rule: LabelRule, signal?: AbortSignal): Promise<Set<string>> {
  const labels = new Set<string>();
  for (const branch of await forge.listBranches({ owner: repo.owner, repo: repo.repo }, signal)) {
    try {
      const resolved = resolvePreviewLabel(template, { branch }, 'preview-label', rule, repo);
      labels.add(resolved.label);
      // Previews earlier versions labelled with a 6-digit hash, or without one.
      if (resolved.shortHashLabel) labels.add(resolved.shortHashLabel);
      labels.add(resolved.legacyLabel);
    } catch {
      // A branch whose name sanitizes to nothing gives no label.
    }
  }
  return labels;
}

/**
 * The pull request number a label names under a template with `{number}`: the digit run that, put
 * through the template as the action does for this repository, gives back this label (under a
 * `{sha}` template: its identity hash), or the label an earlier version gave without the hash.
 * `rule` is the platform's label rule (Agentex's when not given), as the action applied it.
 */
export function pullNumberOfLabel(label: string, template: string = DEFAULT_LABEL_TEMPLATE, repo?: SourceRepo, rule?: LabelRule): number | undefined {
  if (!template.includes('{number}') || /\{branch\}/.test(template)) return undefined;
  for (const [digits] of label.matchAll(/\d+/g)) {
    try {
      // Any seven hex digits stand in for the commit: under {sha} the identity hash leaves it out.
      const labels = resolvePreviewLabel(template, { number: Number(digits), sha: '0000000' }, 'preview-label', rule, repo);
      if (labelNamesPull(label, labels)) return Number(digits);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Whether a label is one the action gave this pull request: this version's, the previous version's
 * (6 hex digits: under `{sha}` every push's ended in it), or the unhashed one. The sweep groups by
 * recorded repository first, so these labels are read only for previews whose records name it.
 */
function labelNamesPull(label: string, labels: PreviewLabels): boolean {
  if (labels.perPush) return labelBelongs(label, labels) || Boolean(labels.shortHashPushSuffix && label.endsWith(labels.shortHashPushSuffix));
  return label === labels.label || label === labels.shortHashLabel || label === labels.legacyLabel;
}

/** One line per preview, for the CLI and the log. */
export function formatSweepReport(report: SweepReport): string {
  const lines: string[] = [];
  const line = (verb: string, item: SweptPreview) =>
    lines.push(`${verb} ${item.deploymentId} ${item.label}${item.agent ? ` (${item.agent})` : ''}${item.repo ? ` ${item.repo}` : ''}: ${item.reason}`);
  for (const item of report.deleted) line('deleted', item);
  for (const item of report.wouldDelete) line('would delete', item);
  for (const item of report.failed) lines.push(`failed ${item.deploymentId} ${item.label}${item.repo ? ` ${item.repo}` : ''}: ${item.reason}: ${item.error}`);
  for (const item of report.kept) line('kept', item);
  lines.push(
    `${report.dryRun ? 'dry run: ' : ''}${report.examined} previews examined, ${report.dryRun ? `${report.wouldDelete.length} would be deleted` : `${report.deleted.length} deleted`}, ${report.kept.length} kept, ${report.failed.length} failed`,
  );
  return lines.join('\n');
}
