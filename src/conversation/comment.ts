/**
 * The conversations' part of the sticky PR comment: a line per agent (`✅ 3/3 · 1.4 s`, or which
 * expectation failed), each transcript in a collapsed `<details>`, the command that opens a chat
 * with the preview, and a hidden record of the results so that a later run on an unchanged preview
 * can show them again without talking to it (see `readKeptSmoke`).
 *
 * Replies, messages and expectations are untrusted (the agent's and the PR's words). They are shown
 * only inside a fenced code block whose fence is longer than any backtick run inside (`fence`), so
 * nothing in them is Markdown or HTML and no `@mention` in them pings anyone: GitHub links no
 * mentions in code, and Gitea looks for mentions only after stripping code blocks
 * (go-gitea/gitea@a105f847e64ede67d830e997f53620d950a807ee:modules/references/references.go,
 * FindAllMentionsMarkdown, via modules/markup/mdstripper, which walks only text nodes, and a fenced
 * block's lines are none: go-gitea/gitea@06b4146c6fff816c5d94e6df911e048e9d6d0b60:modules/markup/mdstripper/mdstripper.go).
 * Outside the fence they go through `inlineText`.
 */
import { codeSpan, escapeCell, fence, type CommentSection } from '../forge/comment.js';
import { compileShapeCheck } from './expect.js';
import { capText } from './report.js';
import { overallVerdict, type AgentSmoke, type SmokeVerdict } from './runner.js';

const MARKER_PREFIX = '<!-- agent-preview:smoke:v1:';
const MARKER = /<!-- agent-preview:smoke:v1:([A-Za-z0-9_-]*) -->/;

/** Per level of detail (0 is the fullest): characters of each reply shown, and kept in the hidden record. */
const LEVELS = [
  { shown: 4000, kept: 1000, transcripts: true },
  { shown: 800, kept: 300, transcripts: true },
  { shown: 0, kept: 0, transcripts: false },
  { shown: 0, kept: -1, transcripts: false },
];

export interface SmokeCommentContext {
  /** The command that opens a chat with this PR's preview. */
  chatCommand?: string;
  /** Why nothing was held at all, when that is the whole story (`smoke` off is not shown). */
  note?: string;
}

const VERDICT_ICON: Record<SmokeVerdict | 'skipped', string> = { passed: '✅', failed: '❌', unsupported: '🚫', replaced: '⏭️', skipped: '⏭️' };

/** The section for `renderPreviewComment`, which asks for less detail until the comment fits. */
export function smokeCommentSection(results: AgentSmoke[], context: SmokeCommentContext): CommentSection {
  return { render: (detail) => renderSmoke(results, context, LEVELS[Math.min(detail, LEVELS.length - 1)]) };
}

function renderSmoke(results: AgentSmoke[], context: SmokeCommentContext, level: (typeof LEVELS)[number]): string {
  // Our own command, made of our platform names, numbers and a host/owner/repo: a code span shows it exactly.
  const chat = context.chatCommand ? `💬 Talk to this preview yourself: ${codeSpan(context.chatCommand)}` : undefined;
  if (!results.length) return chat ? `\n${chat}` : '';
  const verdict = overallVerdict(results.map((result) => result.verdict));
  const lines = ['', `#### Conversations with the preview · ${VERDICT_ICON[verdict]} ${verdict}`, ''];
  if (context.note) lines.push(`> ${inlineText(context.note)}`, '');
  for (const result of results) lines.push(`- ${summaryLine(result)}`);
  for (const result of results) {
    if (!result.conversations.some((conversation) => conversation.turns.some((turn) => turn.verdict !== 'not run'))) continue;
    const summary = `${result.agent}: transcript${result.kept && result.measured ? ` (from ${result.measured.sha.slice(0, 7)})` : ''}`;
    lines.push('', `<details><summary>${escapeCell(summary)}</summary>`, '');
    lines.push(level.transcripts ? fence(transcriptText(result, level.shown)) : '_The transcript is in the run log and the smoke report (the comment had no room for it)._');
    lines.push('', '</details>');
  }
  if (chat) lines.push('', chat);
  lines.push('', keptSmokeMarker(results, level.kept));
  return lines.join('\n');
}

/** `**hello-agent** ✅ 3/3 · 1.4 s`, or what failed, or why nothing could be asked. */
export function summaryLine(result: AgentSmoke): string {
  const head = `**${escapeCell(result.agent)}** ${VERDICT_ICON[result.verdict]}`;
  const kept = result.kept ? ` (kept${result.measured ? ` from ${codeSpan(result.measured.sha.slice(0, 7))}` : ''}: the preview is unchanged)` : '';
  if (result.verdict === 'unsupported') return `${head} not tested: ${inlineText(result.reason ?? 'the platform cannot hold conversations with previews')}`;
  if (result.verdict === 'replaced') return `${head} not finished: ${inlineText(result.reason ?? 'the preview was replaced')}`;
  const counts = `${result.turns.passed}/${result.turns.total} · ${formatLatency(result.latencyMs)}`;
  if (result.verdict === 'passed') return `${head} ${counts}${kept}`;
  return `${head} ${counts} · ${inlineText(firstFailure(result) ?? 'failed')}${kept}`;
}

/** Which turn failed and why, in words: `greets, turn 2: expected contains "Hello" (the reply does not contain "Hello")`. */
export function firstFailure(result: AgentSmoke): string | undefined {
  for (const conversation of result.conversations) {
    if (conversation.verdict !== 'failed') continue;
    const index = conversation.turns.findIndex((turn) => turn.verdict === 'failed');
    if (index === -1) return `${conversation.name}: ${conversation.error ?? 'not held'}`;
    const turn = conversation.turns[index];
    const where = `${conversation.name}, turn ${index + 1}`;
    if (turn.error) return `${where}: ${turn.error}`;
    const check = turn.checks.find((candidate) => !candidate.passed);
    return `${where}: expected ${check?.expectation ?? 'a passing reply'}${check?.detail ? ` (${check.detail})` : ''}`;
  }
  return undefined;
}

export function formatLatency(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The transcript as plain text (for the fenced block, the job log and the terminal). */
export function transcriptText(result: AgentSmoke, replyLimit = 4000): string {
  const lines: string[] = [];
  for (const conversation of result.conversations) {
    lines.push(`── ${conversation.name}${conversation.sessionId ? ` (${conversation.sessionId})` : ''} ──`);
    if (conversation.error && conversation.turns.every((turn) => turn.verdict === 'not run'))
      lines.push(`  ${conversation.verdict === 'failed' ? '✘ not held' : 'not held'}: ${conversation.error}`);
    for (const turn of conversation.turns) {
      lines.push(indent('› ', turn.send));
      if (turn.verdict === 'not run') {
        lines.push('  (not sent)');
        continue;
      }
      if (turn.reply !== undefined) lines.push(indent('‹ ', capText(turn.reply, replyLimit).text), `  (${formatLatency(turn.latencyMs ?? 0)})`);
      if (turn.error) lines.push(`  ✘ ${turn.error}`);
      for (const check of turn.checks) lines.push(`  ${check.passed ? '✔' : '✘'} ${check.expectation}${check.detail ? `: ${check.detail}` : ''}`);
    }
  }
  return stripUnsafe(lines.join('\n'));
}

function indent(first: string, text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line, index) => (index === 0 ? first : '  ') + line)
    .join('\n');
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that make text read
// otherwise than it is (CVE-2021-42574): none has any business in a comment.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function stripUnsafe(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, '');
}

/**
 * Untrusted text on one line of Markdown: no HTML, no Markdown, no mention, no link. A zero-width
 * space follows every `@`, so no mention pattern matches: Gitea's needs a name character right after
 * the `@` (go-gitea/gitea@a105f847e64ede67d830e997f53620d950a807ee:modules/references/references.go,
 * mentionPattern), and so does GitHub's (which, unlike Gitea's, reads the rendered text, where an
 * entity such as `&#64;` would be an `@` again). A zero-width space before `://` and after `www`
 * keeps GFM's autolinks (GFM spec 0.29, §6.9 "Autolinks (extension)") from making a URL in a reply a link.
 */
export function inlineText(text: string): string {
  return escapeCell(stripUnsafe(text))
    .replace(/@/g, '@\u200b')
    .replace(/:\/\//g, '\u200b://')
    .replace(/\b(www)\./gi, '$1\u200b.');
}

/**
 * The results, hidden in the comment: base64url JSON, so nothing in a reply can end the HTML comment.
 * `replyChars` is how much of each reply is kept; -1 keeps no turns at all.
 */
export function keptSmokeMarker(results: AgentSmoke[], replyChars: number): string {
  const kept = results.map((result) => ({
    ...result,
    conversations:
      replyChars < 0
        ? []
        : result.conversations.map((conversation) => ({
            ...conversation,
            turns: conversation.turns.map(({ raw: _raw, ...turn }) => ({ ...turn, reply: turn.reply === undefined ? undefined : capText(turn.reply, replyChars).text })),
          })),
  }));
  return `${MARKER_PREFIX}${Buffer.from(JSON.stringify(kept)).toString('base64url')} -->`;
}

let checkKept: Promise<(value: unknown) => boolean> | undefined;
// The hidden record's JSON Schema, from three builders: a string, an object with its required fields, a list.
const STRING = { type: 'string' };
const SMOKE_VERDICT = { enum: ['passed', 'failed', 'unsupported', 'replaced'] };
const record = (required: string[], properties: Record<string, object>) => ({ type: 'object', required, properties });
const listOf = (items: object) => ({ type: 'array', items });

const KEPT_SHAPE = listOf(
  record(['agent', 'verdict', 'script', 'conversations', 'turns', 'latencyMs'], {
    agent: STRING,
    verdict: SMOKE_VERDICT,
    reason: STRING,
    deploymentId: STRING,
    script: record(['file', 'digest'], { file: STRING, digest: STRING }),
    turns: record(['passed', 'total'], { passed: { type: 'integer' }, total: { type: 'integer' } }),
    latencyMs: { type: 'number' },
    measured: record(['sha', 'at'], { sha: STRING, at: STRING }),
    kept: { type: 'boolean' },
    conversations: listOf(
      record(['name', 'verdict', 'turns'], {
        name: STRING,
        verdict: SMOKE_VERDICT,
        sessionId: STRING,
        error: STRING,
        turns: listOf(
          record(['send', 'verdict', 'checks'], {
            send: STRING,
            reply: STRING,
            latencyMs: { type: 'number' },
            verdict: { enum: ['passed', 'failed', 'not run'] },
            error: STRING,
            checks: listOf(record(['expectation', 'passed'], { expectation: STRING, passed: { type: 'boolean' }, detail: STRING })),
          }),
        ),
      }),
    ),
  }),
);

/**
 * The results an earlier run recorded in our sticky comment, or none. They are as untrusted as
 * anything else in a comment: a record that does not have the shape we write is ignored, and what is
 * shown of it goes through the same escaping.
 */
export async function readKeptSmoke(commentBody: string | undefined): Promise<AgentSmoke[]> {
  const encoded = commentBody ? MARKER.exec(commentBody)?.[1] : undefined;
  if (!encoded) return [];
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return [];
  }
  checkKept ??= compileShapeCheck(KEPT_SHAPE);
  return (await checkKept)(value) ? (value as AgentSmoke[]) : [];
}
