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

export async function sweepPreviews(options: SweepOptions): Promise<SweepReport> {
  const { platform, signal } = options;
  const dryRun = options.dryRun ?? true;
  const log = options.log ?? { info: () => {}, warn: () => {} };
  const report: SweepReport = { dryRun, examined: 0, deleted: [], wouldDelete: [], kept: [], failed: [] };
  const lookUpBuild = cachedBuildLookup(platform);
  const entry = (deployment: Deployment, reason: string, repo?: SourceRepo, pullNumber?: number): SweptPreview => ({
    deploymentId: deployment.id,
    agent: deployment.agentName,
    label: deployment.previewLabel ?? '',
    repo: repo ? formatSourceRepo(repo) : undefined,
    pullNumber,
    reason,
  });

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

  const templates = new Map<string, Promise<string>>();
  const templateOf = (repo: SourceRepo) => {
    const key = formatSourceRepo(repo).toLowerCase();
    let template = templates.get(key);
    if (!template) {
      template = (options.labelTemplateFor?.(repo) ?? Promise.resolve(undefined)).then((found) => found || DEFAULT_LABEL_TEMPLATE);
      templates.set(key, template);
    }
    return template;
  };

  for (const { repo, label, deployments } of groups.values()) {
    const keep = (reason: string, pullNumber?: number) => report.kept.push(...deployments.map((d) => entry(d, reason, repo, pullNumber)));
    let forge: Forge | undefined;
    let template: string;
    try {
      forge = await options.forgeFor(repo);
      template = await templateOf(repo);
    } catch (err) {
      report.failed.push(...deployments.map((d) => ({ ...entry(d, 'the repository could not be reached', repo), error: redact((err as Error).message) })));
      continue;
    }
    if (!forge) {
      keep(`no forge is configured for ${repo.host}`);
      continue;
    }
    const pullNumber = pullNumberOfLabel(label, template, repo, platform.labelRule);
    if (pullNumber === undefined && isBranchTemplate(template)) {
      let branches: Set<string>;
      try {
        branches = await branchLabelsOf(forge, repo, template, platform.labelRule, signal);
      } catch (err) {
        report.failed.push(...deployments.map((d) => ({ ...entry(d, 'the branches could not be listed', repo), error: redact((err as Error).message) })));
        continue;
      }
      if (branches.has(label)) {
        keep('its branch still exists');
        continue;
      }
      await removeGroup(forge, repo, label, deployments, 'no branch of the repository gives this label any more (the branch is gone)');
      continue;
    }
    if (pullNumber === undefined) {
      keep(`the label does not name a pull request under the template "${template}"`);
      continue;
    }
    const repoRef = { owner: repo.owner, repo: repo.repo };
    let state: 'open' | 'closed' | 'missing';
    let headSha: string | undefined;
    try {
      const pull = await forge.getPullRequest({ ...repoRef, number: pullNumber }, signal);
      state = pull.state;
      headSha = pull.headSha || undefined;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) state = 'missing';
      else {
        report.failed.push(...deployments.map((d) => ({ ...entry(d, 'the pull request could not be read', repo, pullNumber), error: redact((err as Error).message) })));
        continue;
      }
    }
    if (state === 'missing') {
      keep(`pull request #${pullNumber} was not found`, pullNumber);
      continue;
    }
    if (state === 'open') {
      keep(`pull request #${pullNumber} is open`, pullNumber);
      continue;
    }
    await removeGroup(forge, repo, label, deployments, `pull request #${pullNumber} is closed`, pullNumber, headSha);
  }
  return report;

  /** Deletes (or, in a dry run, lists) one repository's previews of one label, then marks the forge. */
  async function removeGroup(forge: Forge, repo: SourceRepo, label: string, deployments: Deployment[], reason: string, pullNumber?: number, headSha?: string): Promise<void> {
    if (dryRun) {
      for (const deployment of deployments) {
        report.wouldDelete.push(entry(deployment, reason, repo, pullNumber));
        log.info(`would delete preview ${deployment.id} (${label}, ${formatSourceRepo(repo)}): ${reason}`);
      }
      return;
    }
    let removedAll = true;
    for (const deployment of deployments) {
      try {
        await platform.deleteDeployment(deployment.id, { signal });
        report.deleted.push(entry(deployment, reason, repo, pullNumber));
        log.info(`deleted preview ${deployment.id} (${label}, ${formatSourceRepo(repo)}): ${reason}`);
      } catch (err) {
        if (signal?.aborted) throw err;
        removedAll = false;
        const error = redact((err as Error).message);
        report.failed.push({ ...entry(deployment, reason, repo, pullNumber), error });
        log.warn(`could not delete preview ${deployment.id}: ${error}`);
      }
    }
    if (removedAll && options.markForge !== false) {
      const agents = [...new Set(deployments.map((d) => d.agentName).filter((name): name is string => Boolean(name)))].sort();
      const where = pullNumber === undefined ? `${formatSourceRepo(repo)} (${label})` : `${formatSourceRepo(repo)}#${pullNumber}`;
      const marks = { forge, repoRef: { owner: repo.owner, repo: repo.repo }, pullNumber, headSha, platformName: platform.name, signal };
      await markClosed(marks, exactLabel(label), { status: 'removed', agents, labels: [label], stillRunning: [] }).catch((err) =>
        log.warn(`previews of ${where} are gone, but the forge was not updated: ${redact((err as Error).message)}`),
      );
    }
  }
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
