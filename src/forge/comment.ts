import type { AgentResult } from '../agent-result.js';
import { redact } from '../secrets/redact.js';

/** Hidden marker that identifies our one sticky comment on a pull request. */
export const STICKY_MARKER = '<!-- agent-preview:sticky -->';

/** Letters, digits, `.`, `_`, `-`: a key lives inside an HTML comment and must not end it. */
const COMMENT_KEY = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The marker of the sticky comment for a key: two workflows on one PR with different keys keep two
 * comments. No key is the marker every earlier comment carries.
 */
export function stickyMarker(key?: string): string {
  if (!key) return STICKY_MARKER;
  if (!COMMENT_KEY.test(key)) throw new Error(`comment key "${key}" may hold only letters, digits, ".", "_" and "-" (at most 64)`);
  return `<!-- agent-preview:sticky:${key} -->`;
}

export interface StickyMatch {
  /** Lower-cased logins that write our comments (`Forge.commentAuthors`); anyone else's comment is never ours. */
  authors: string[];
  key?: string;
}

/**
 * Whether a comment is our sticky comment: it carries the key's marker and was written by one of
 * the identities that write ours. A person quoting the marker does not make their comment ours
 * (as peter-evans/find-comment matches by author and body, and marocchino/sticky-pull-request-comment
 * by author and header).
 */
export function isOurStickyComment(comment: { body: string; user?: string }, match: StickyMatch): boolean {
  if (!comment.user || !match.authors.includes(comment.user.toLowerCase())) return false;
  return comment.body.includes(stickyMarker(match.key));
}
/** GitHub rejects comment bodies over 65,536 characters. */
export const COMMENT_LIMIT = 65_536;
const TAIL_LINES = 30;

export interface CommentContext {
  platform: string;
  label: string;
  headSha: string;
  /** ISO time of this update. */
  updatedAt: string;
  /** The run's own page (a workflow run URL), when there is one. */
  runUrl?: string;
  /** Capability notes to show once (e.g. "MUTX deployments carry no URL"). */
  notes?: string[];
  /** The sticky comment's key (`stickyMarker`), when several workflows comment on one PR. */
  commentKey?: string;
  /** The conversations held with the preview (`smokeCommentSection`), shown after the table. */
  smoke?: CommentSection;
}

/** A part of the comment that can say less when the comment would be too long: `detail` 0 is the fullest, higher says less. */
export interface CommentSection {
  render(detail: number): string;
}

export interface StoredComment {
  id: number;
  body: string;
  createdAt?: string;
  user?: string;
}

/**
 * Our sticky comments among all of a PR's comments, oldest first. Without `match`, any comment
 * carrying the plain marker (only to ask whether a PR has one; never to choose what to edit).
 */
export function findStickyComments<T extends StoredComment>(comments: T[], match?: StickyMatch): T[] {
  const ours = match ? (comment: T) => isOurStickyComment(comment, match) : (comment: T) => comment.body.includes(STICKY_MARKER);
  return comments.filter(ours).sort((a, b) => a.id - b.id);
}

/**
 * Text as a Markdown code span: nothing inside a code span is Markdown, so nothing is escaped; the
 * backtick fence is longer than any backtick run inside (CommonMark 0.31.2, §6.1 "Code spans").
 * In a table row a `|` still ends the cell even inside a code span, so it is written `\|`, which
 * GFM turns back into `|` (GFM spec 0.29, §4.10 "Tables", example 200).
 */
export function codeSpan(text: string): string {
  const flat = text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((match) => match[0].length));
  const ticks = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || (flat.startsWith(' ') && flat.endsWith(' ') && flat.trim()) ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** Escapes text for a Markdown table cell: no HTML, no Markdown syntax, no row breaks. */
export function escapeCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/([\\`*_[\]()#!~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/** A fenced code block whose fence is longer than any backtick run inside, so the text cannot escape it. */
export function fence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const marks = '`'.repeat(Math.max(3, longest + 1));
  return `${marks}text\n${text}\n${marks}`;
}

const STATUS_TEXT: Record<AgentResult['status'], string> = {
  healthy: '✅ Ready',
  unchanged: '✅ Unchanged',
  deployed: '🚀 Deployed',
  built: '📦 Built',
  failed: '❌ Failed',
  closed: '⛔ Not kept: pull request closed',
  superseded: '⏭️ Not kept: superseded by a newer commit',
};

function link(url: string | undefined): string {
  if (!url) return '—';
  const safe = redact(url);
  if (safe !== url || !/^https?:\/\//i.test(url)) return '—';
  return `[Visit preview](${url.replace(/[()\s<>"'`[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
}

/** How much to show, fullest first: log tail lines, and the conversations' detail. */
const SHRINKING: [tailLines: number, smokeDetail: number][] = [
  [TAIL_LINES, 0],
  [10, 0],
  [10, 1],
  [3, 1],
  [3, 2],
  [0, 2],
  [0, 3],
];

/** The comment body for the run's results; stays under GitHub's limit by trimming log tails and transcripts first. */
export function renderPreviewComment(results: AgentResult[], context: CommentContext): string {
  const render = (tailLines: number, smokeDetail: number) => {
    const lines = [
      stickyMarker(context.commentKey),
      `### Agent preview · ${codeSpan(context.label)}`,
      '',
      '| Agent | Status | Preview | Build | Commit | Updated (UTC) |',
      '| --- | --- | --- | --- | --- | --- |',
    ];
    for (const result of results) {
      const build = result.buildId ? `${codeSpan(result.buildId)}${result.buildReused ? ' (reused)' : ' (new)'}` : '—';
      lines.push(
        `| **${escapeCell(result.agent)}** | ${STATUS_TEXT[result.status]} | ${link(result.url)} | ${build} | ${codeSpan(context.headSha.slice(0, 7))} | ${escapeCell(context.updatedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} |`,
      );
    }
    for (const note of context.notes ?? []) lines.push('', `> ${escapeCell(note)}`);
    if (context.smoke) lines.push(context.smoke.render(smokeDetail));
    for (const result of results) {
      if (result.status !== 'failed') continue;
      const tail = (result.logTail ?? []).slice(-tailLines);
      lines.push(
        '',
        `<details><summary>${escapeCell(result.agent)}: ${escapeCell(result.failedPhase ?? 'run')} failed</summary>`,
        '',
        fence(redact([result.error ?? 'failed', ...(tail.length ? ['', ...tail] : [])].join('\n'))),
        '',
        '</details>',
      );
    }
    lines.push('', `<sub>Platform: ${escapeCell(context.platform)}${context.runUrl ? ` · [run log](${context.runUrl})` : ''} · deployed by agent-preview</sub>`);
    return lines.join('\n');
  };
  for (const [tail, smokeDetail] of SHRINKING) {
    const body = render(tail, smokeDetail);
    if (body.length <= COMMENT_LIMIT) return body;
  }
  return `${render(0, 3).slice(0, COMMENT_LIMIT - 200)}\n\n…(truncated)\n`;
}

/** The comment once the PR's previews are gone. */
export function renderRemovedComment(context: { label: string; platform: string; updatedAt: string; agents: string[]; commentKey?: string }): string {
  return [
    stickyMarker(context.commentKey),
    `### Agent preview · ${codeSpan(context.label)}`,
    '',
    `🧹 Preview removed at ${escapeCell(context.updatedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} UTC${context.agents.length ? ` (${context.agents.map(escapeCell).join(', ')})` : ''}.`,
    '',
    `<sub>Platform: ${escapeCell(context.platform)} · deployed by agent-preview</sub>`,
  ].join('\n');
}
