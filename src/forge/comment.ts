import type { AgentResult } from '../pipeline/run.js';
import { redact } from '../secrets/redact.js';

/** Hidden marker that identifies our one sticky comment on a pull request. */
export const STICKY_MARKER = '<!-- agent-preview:sticky -->';
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
}

export interface StoredComment {
  id: number;
  body: string;
  createdAt?: string;
}

/** Our sticky comments among all of a PR's comments, oldest first. */
export function findStickyComments<T extends StoredComment>(comments: T[]): T[] {
  return comments.filter((comment) => comment.body.includes(STICKY_MARKER)).sort((a, b) => a.id - b.id);
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
  deployed: '🚀 Deployed',
  built: '📦 Built',
  failed: '❌ Failed',
};

function link(url: string | undefined): string {
  if (!url) return '—';
  const safe = redact(url);
  if (safe !== url || !/^https?:\/\//i.test(url)) return '—';
  return `[Visit preview](${url.replace(/[()\s<>"'`[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
}

/** The comment body for the run's results; stays under GitHub's limit by trimming log tails first. */
export function renderPreviewComment(results: AgentResult[], context: CommentContext): string {
  const render = (tailLines: number) => {
    const lines = [
      STICKY_MARKER,
      `### Agent preview · \`${escapeCell(context.label)}\``,
      '',
      '| Agent | Status | Preview | Build | Commit | Updated (UTC) |',
      '| --- | --- | --- | --- | --- | --- |',
    ];
    for (const result of results) {
      const build = result.buildId ? `\`${escapeCell(result.buildId)}\`${result.buildReused ? ' (reused)' : ' (new)'}` : '—';
      lines.push(
        `| **${escapeCell(result.agent)}** | ${STATUS_TEXT[result.status]} | ${link(result.url)} | ${build} | \`${escapeCell(context.headSha.slice(0, 7))}\` | ${escapeCell(context.updatedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} |`,
      );
    }
    for (const note of context.notes ?? []) lines.push('', `> ${escapeCell(note)}`);
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
  for (const tail of [TAIL_LINES, 10, 3, 0]) {
    const body = render(tail);
    if (body.length <= COMMENT_LIMIT) return body;
  }
  return `${render(0).slice(0, COMMENT_LIMIT - 200)}\n\n…(truncated)\n`;
}

/** The comment once the PR's previews are gone. */
export function renderRemovedComment(context: { label: string; platform: string; updatedAt: string; agents: string[] }): string {
  return [
    STICKY_MARKER,
    `### Agent preview · \`${escapeCell(context.label)}\``,
    '',
    `🧹 Preview removed at ${escapeCell(context.updatedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} UTC${context.agents.length ? ` (${context.agents.map(escapeCell).join(', ')})` : ''}.`,
    '',
    `<sub>Platform: ${escapeCell(context.platform)} · deployed by agent-preview</sub>`,
  ].join('\n');
}
