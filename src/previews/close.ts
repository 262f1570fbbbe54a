/**
 * Closing a preview, written once for the action, the app, the sweep and the CLI: delete this
 * repository's previews of a PR or branch on the platform, then tell the forge the truth about it
 * (the sticky comment, GitHub's deployments or Gitea's commit status). "Removed" is said only when
 * nothing of ours is left running; otherwise every preview still running is named with its id and why.
 */
import { codeSpan, escapeCell, findStickyComments, renderRemovedComment, stickyMarker } from '../forge/comment.js';
import type { Forge, RepoRef } from '../forge/forge.js';
import { upsertStickyComment } from '../forge/sticky.js';
import type { PreviewLabels } from '../pipeline/label.js';
import type { Reporter } from '../pipeline/reporter.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import type { Deployment, Platform } from '../platforms/platform.js';
import { redact } from '../secrets/redact.js';
import { teardownPreviews, type TeardownOutcome } from './teardown.js';

/** `removed`: nothing of ours runs any more. `kept`: previews we cannot prove are ours still run. `failed`: a delete failed. */
export type CloseStatus = 'removed' | 'kept' | 'failed';

export interface StillRunning {
  id: string;
  agent?: string;
  label?: string;
  why: string;
}

export interface CloseOutcome extends TeardownOutcome {
  status: CloseStatus;
  /** Every preview of this PR or branch still running after the close, with why. */
  stillRunning: StillRunning[];
}

export interface CloseRequest {
  platform: Platform;
  labels: PreviewLabels;
  /** The repository closing; without it (the CLI without --repo) every preview of the label goes. */
  repo?: SourceRepo;
  /** Only these agents' previews. */
  agentNames?: string[];
  /** Agents whose previews count as ours though nothing records their repository: a person's word only (the CLI's `--agent`). */
  adoptUnproven?: string[];
  /** Under a `{sha}` template: the repository's agents, whose previews are listed to find every push's (see `TeardownOptions`). */
  knownAgents?: string[];
  reporter?: Reporter;
  signal?: AbortSignal;
  dryRun?: boolean;
}

/** Deletes the previews and says what, if anything, is still running. */
export async function removePreviews(request: CloseRequest): Promise<CloseOutcome> {
  const outcome = await teardownPreviews(request.platform, {
    labels: request.labels,
    repo: request.repo,
    agentNames: request.agentNames,
    adoptUnproven: request.adoptUnproven,
    knownAgents: request.knownAgents,
    reporter: request.reporter,
    signal: request.signal,
    dryRun: request.dryRun,
  });
  const stillRunning: StillRunning[] = [
    ...outcome.failed.map(({ deployment, error }) => running(deployment, `it could not be deleted: ${redact(error)}`)),
    ...outcome.withoutProvenance.map((deployment) => running(deployment, `${request.platform.name} records no repository for it, so nothing proves it is this repository's: kept`)),
  ];
  const status: CloseStatus = outcome.failed.length ? 'failed' : stillRunning.length ? 'kept' : 'removed';
  return { ...outcome, status, stillRunning };
}

function running(deployment: Deployment, why: string): StillRunning {
  return { id: deployment.id, agent: deployment.agentName, label: deployment.previewLabel, why };
}

export interface ForgeMarks {
  forge: Forge;
  repoRef: RepoRef;
  /** The closed PR whose sticky comment is updated; absent for a deleted branch. */
  pullNumber?: number;
  /** Gitea: the commit whose status advertised the preview, to be told it is gone. */
  headSha?: string;
  /** Update the sticky comment (default true). Only a PR the action commented on gets a note. */
  comment?: boolean;
  /** The sticky comment's key, when several workflows comment on one PR. */
  commentKey?: string;
  /** Deactivate GitHub deployments and mark Gitea's commit status (default true). */
  statuses?: boolean;
  platformName: string;
  signal?: AbortSignal;
  /** What removed the previews, for a comment that cannot say "removed": "The pull request is closed" unless given. */
  occasion?: string;
}

/**
 * Tells the forge what the close did. The comment says "removed" only for `removed`; otherwise it
 * names what still runs. Deployments and statuses are marked inactive unless a preview of ours could not be deleted.
 */
export async function markClosed(marks: ForgeMarks, labels: PreviewLabels, outcome: Pick<CloseOutcome, 'status' | 'agents' | 'labels' | 'stillRunning'>): Promise<void> {
  const { forge, repoRef, signal } = marks;
  if (marks.comment !== false && marks.pullNumber !== undefined) {
    const pr = { ...repoRef, number: marks.pullNumber };
    const key = marks.commentKey;
    const match = { authors: await forge.commentAuthors(signal), key };
    if (findStickyComments(await forge.listComments(pr, signal), match).length) {
      const updatedAt = new Date().toISOString();
      const body =
        outcome.status === 'removed'
          ? renderRemovedComment({ label: labels.label, platform: marks.platformName, updatedAt, agents: outcome.agents, commentKey: key })
          : renderStillRunningComment({
              label: labels.label,
              platform: marks.platformName,
              updatedAt,
              stillRunning: outcome.stillRunning,
              commentKey: key,
              occasion: marks.occasion,
            });
      await upsertStickyComment(forge, pr, body, { signal, key });
    }
  }
  // Our deployments' links are dead once ours are deleted, even when previews nothing proves are ours
  // still run; but a preview of ours that could not be deleted still serves its link.
  if (marks.statuses === false || outcome.status === 'failed') return;
  if (forge.kind === 'github') {
    const environments = new Set<string>();
    for (const label of new Set([labels.label, ...outcome.labels])) {
      environments.add(environmentName(label));
      for (const agent of outcome.agents) environments.add(environmentName(label, agent, 2));
    }
    for (const environment of environments) await forge.deactivateEnvironment(repoRef, environment, signal);
    return;
  }
  // Gitea keeps no deployments: the head commit's status linked the preview. Say it is gone, with
  // no link to the dead URL.
  if (!marks.headSha) return;
  const agents = outcome.agents.length ? outcome.agents : [undefined];
  for (const agent of agents) {
    await forge.setPreviewStatus(
      repoRef,
      { state: 'inactive', environment: environmentName(labels.label, agent, agents.length), sha: marks.headSha, description: 'preview removed' },
      signal,
    );
  }
}

/** Removes the previews, then marks the forge. A forge that cannot be told is a warning, not a failure of the close. */
export async function closePreviews(request: CloseRequest, marks?: Omit<ForgeMarks, 'platformName' | 'signal'>): Promise<CloseOutcome> {
  const outcome = await removePreviews(request);
  if (marks && !request.dryRun) {
    await markClosed({ ...marks, platformName: request.platform.name, signal: request.signal }, request.labels, outcome).catch((err) =>
      request.reporter?.warn(`the forge was not told about the close: ${redact((err as Error).message)}`),
    );
  }
  return outcome;
}

/** `preview/pr-12` for a single agent; `preview/pr-12/<agent>` for each agent of a monorepo. */
export function environmentName(label: string, agent?: string, agentCount = 1): string {
  return agent && agentCount > 1 ? `preview/${label}/${agent}` : `preview/${label}`;
}

/** One line for logs: what the close did and what is still running. */
export function describeClose(outcome: CloseOutcome): string {
  const parts = [`${outcome.deleted.length} deleted`, `${outcome.alreadyGone.length} already gone`];
  if (outcome.otherRepos.length) parts.push(`${outcome.otherRepos.length} of other repositories left alone (${outcome.otherRepos.map((d) => d.id).join(', ')})`);
  const still = outcome.stillRunning.length ? `; still running: ${outcome.stillRunning.map((item) => `${item.id} (${item.agent ?? 'agent'}): ${item.why}`).join('; ')}` : '';
  return `previews of "${outcome.label}": ${parts.join(', ')}${still}`;
}

/** The sticky comment when a close could not remove everything: what still runs, and why. */
export function renderStillRunningComment(context: {
  label: string;
  platform: string;
  updatedAt: string;
  stillRunning: StillRunning[];
  commentKey?: string;
  /** Our own words for what happened ("The pull request is closed" unless given). */
  occasion?: string;
}): string {
  const count = context.stillRunning.length;
  return [
    stickyMarker(context.commentKey),
    `### Agent preview · ${codeSpan(context.label)}`,
    '',
    `⚠️ ${context.occasion ?? 'The pull request is closed'}, but ${count} preview${count === 1 ? ' is' : 's are'} still running (${escapeCell(context.updatedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} UTC):`,
    '',
    ...context.stillRunning.map(
      (item) => `- ${codeSpan(item.id)} (${escapeCell(item.agent ?? 'agent')}${item.label ? `, label ${codeSpan(item.label)}` : ''}): ${escapeCell(item.why)}`,
    ),
    '',
    // Platform names are ours: safe inside a code span.
    `Remove one with \`agent-preview --platform ${context.platform} teardown --label <label> --agent <agent>\` once you know it is this repository's.`,
    '',
    `<sub>Platform: ${escapeCell(context.platform)} · deployed by agent-preview</sub>`,
  ].join('\n');
}
