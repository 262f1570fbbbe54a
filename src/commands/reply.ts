/**
 * The comments agent-preview answers commands with: always a new comment, beginning with the
 * command quoted, so the thread reads as question and answer.
 *
 * Everything in a reply that did not come from us is untrusted: the command line is the reviewer's
 * text, an agent's reply the agent's. The command line is quoted through `inlineText` (no HTML, no
 * Markdown, no mention, no link); messages and replies are shown only inside a fence nothing in
 * them can close (`fence`), with control and bidirectional-override characters removed, each cut
 * (saying where), exactly as the sticky comment shows transcripts (`conversation/comment.ts`).
 */
import { codeSpan, COMMENT_LIMIT, escapeCell, fence } from '../forge/comment.js';
import { formatLatency, inlineText } from '../conversation/comment.js';
import { capText } from '../conversation/report.js';
import { redact } from '../secrets/redact.js';

/** The longest command line quoted back. */
const QUOTED_LINE = 300;

/** Characters of one reply shown, fullest first; the transcript gives way before the reply does. */
const REPLY_LIMITS = [4000, 2000, 800];
const TRANSCRIPT_LIMITS = [1500, 600, 200, 0];

/** The reply comment: the command quoted, then what was done. `body` is our own Markdown, built only with the helpers here. */
export function renderReply(line: string, body: string): string {
  const quoted = capText(line, QUOTED_LINE).text.replace(/\n/g, ' ');
  const text = [`> ${inlineText(quoted)}`, '', body, '', '<sub>agent-preview · `/preview help` lists the commands</sub>'].join('\n');
  return text.length <= COMMENT_LIMIT ? text : `${text.slice(0, COMMENT_LIMIT - 40)}\n\n…(truncated)`;
}

export const HELP_TABLE = [
  '| Command | What it does |',
  '| --- | --- |',
  "| `/preview ask [agent] <message>` | Sends the message to the pull request's live preview (of that agent, if it has several) and answers with the reply. `ask` again continues your conversation. |",
  "| `/preview extend <duration>` | Renews the previews' expiry by that long, e.g. `4h` (from 1 minute to 7 days). |",
  "| `/preview redeploy [agent]` | Deploys the pull request's head again, as the action deployed it (after a secret changed, say). |",
  "| `/preview destroy` | Removes the pull request's previews now. The next push deploys them again. |",
  '| `/preview help` | This list. |',
].join('\n');

export function helpBody(lead?: string): string {
  return [...(lead ? [lead, ''] : []), HELP_TABLE, '', 'The command is the first line of a comment. Only people who can push to this repository may use them.'].join('\n');
}

/** Untrusted text (an agent's reply, a reviewer's message) as a fenced block, control characters removed and cut at `limit`. */
export function fencedText(text: string, limit: number): string {
  return fence(capText(stripControl(redact(text)), limit).text);
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides (as conversation/comment.ts).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function stripControl(text: string): string {
  return text.replace(CONTROL, '');
}

/** One turn of a reviewer's conversation with a preview, as kept between comments. */
export interface KeptTurn {
  message: string;
  reply?: string;
  error?: string;
  latencyMs?: number;
}

export interface AskReplyView {
  agent: string;
  reply: string;
  latencyMs: number;
  /** The platform's name for the conversation (an Agentex task id). */
  sessionId?: string;
  /** Every turn of this reviewer's conversation so far, this one last. */
  turns: KeptTurn[];
  /** Said before the reply (a new conversation because the earlier one is gone, say). */
  note?: string;
}

/** The answer to `/preview ask`: the reply fenced, its latency, and the conversation so far, shortened until the comment fits. */
export function askBody(view: AskReplyView): string {
  for (const replyLimit of REPLY_LIMITS) {
    for (const transcriptLimit of TRANSCRIPT_LIMITS) {
      const body = renderAsk(view, replyLimit, transcriptLimit);
      if (body.length <= COMMENT_LIMIT - 1000) return body;
    }
  }
  return renderAsk(view, 200, 0);
}

function renderAsk(view: AskReplyView, replyLimit: number, transcriptLimit: number): string {
  const turn = view.turns.length;
  const session = view.sessionId ? ` · conversation ${codeSpan(view.sessionId)}` : '';
  const lines = [
    ...(view.note ? [`> ${inlineText(view.note)}`, ''] : []),
    `💬 **${escapeCell(view.agent)}** answered in ${formatLatency(view.latencyMs)} (turn ${turn}${session}):`,
    '',
    fencedText(view.reply, replyLimit),
  ];
  if (turn > 1 && transcriptLimit > 0) {
    lines.push(
      '',
      `<details><summary>Your conversation with ${escapeCell(view.agent)} so far (${turn} turns)</summary>`,
      '',
      fence(transcript(view.turns, transcriptLimit)),
      '',
      '</details>',
    );
  }
  lines.push('', '`/preview ask` again continues this conversation.');
  return lines.join('\n');
}

function transcript(turns: KeptTurn[], limit: number): string {
  const lines: string[] = [];
  for (const turn of turns) {
    lines.push(indent('› ', capText(turn.message, limit).text));
    if (turn.reply !== undefined) lines.push(indent('‹ ', capText(turn.reply, limit).text), `  (${formatLatency(turn.latencyMs ?? 0)})`);
    if (turn.error) lines.push(`  ✘ ${turn.error}`);
  }
  return stripControl(redact(lines.join('\n')));
}

function indent(first: string, text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line, index) => (index === 0 ? first : '  ') + line)
    .join('\n');
}

/** A short commit id in a code span. */
export function shortSha(sha: string): string {
  return codeSpan(sha.slice(0, 7));
}

/** Our own words around untrusted ones (an error's message): on one line, escaped. */
export function plain(text: string): string {
  return inlineText(redact(text));
}
