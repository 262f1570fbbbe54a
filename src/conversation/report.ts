/**
 * The smoke report: a JSON file with every turn, reply, latency and verdict, for a workflow's later
 * steps (`smoke-report`) and for `agent-preview smoke --json`. Secrets are redacted (the runner
 * redacted every reply and error as it received them; this redacts once more what it writes) and
 * each reply is capped, saying where it was cut.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redact } from '../secrets/redact.js';
import { overallVerdict, type AgentSmoke, type SmokeVerdict, type TurnOutcome } from './runner.js';

export const REPORT_SCHEMA = 'agent-preview/smoke-report@1';
/** Characters of one reply kept in the report. */
export const REPORT_REPLY_LIMIT = 20_000;
/** Characters of a reply's raw platform record kept in the report. */
const RAW_LIMIT = 4_000;

export interface SmokeReportContext {
  platform: string;
  repository?: string;
  pullRequest?: number;
  commit?: string;
  label?: string;
}

export interface SmokeReport extends SmokeReportContext {
  schema: typeof REPORT_SCHEMA;
  verdict: SmokeVerdict | 'skipped';
  /** When the report was written. */
  at: string;
  agents: AgentSmoke[];
}

/** The text cut to `limit` characters, saying how much was cut (never inside a surrogate pair). */
export function capText(text: string, limit: number): { text: string; cut?: { shown: number; total: number } } {
  if (text.length <= limit) return { text };
  let end = limit;
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end--;
  return { text: `${text.slice(0, end)}\n…[cut: ${text.length - end} more characters]`, cut: { shown: end, total: text.length } };
}

export function buildSmokeReport(results: AgentSmoke[], context: SmokeReportContext, at = new Date()): SmokeReport {
  return {
    schema: REPORT_SCHEMA,
    ...context,
    verdict: overallVerdict(results.map((result) => result.verdict)),
    at: at.toISOString(),
    agents: results.map((result) => ({
      ...result,
      conversations: result.conversations.map((conversation) => ({ ...conversation, turns: conversation.turns.map(reportTurn) })),
    })),
  };
}

function reportTurn(turn: TurnOutcome): TurnOutcome & { replyCut?: { shown: number; total: number } } {
  const capped = turn.reply === undefined ? undefined : capText(turn.reply, REPORT_REPLY_LIMIT);
  const rawText = turn.raw === undefined ? undefined : JSON.stringify(turn.raw);
  return {
    ...turn,
    ...(capped ? { reply: capped.text, ...(capped.cut ? { replyCut: capped.cut } : {}) } : {}),
    raw: rawText === undefined ? undefined : rawText.length > RAW_LIMIT ? { cut: `the platform's record was ${rawText.length} characters; not kept` } : turn.raw,
  };
}

/** The report as JSON text, redacted once more. */
export function serializeSmokeReport(report: SmokeReport): string {
  return `${redact(JSON.stringify(report, null, 2))}\n`;
}

/** Writes the report (readable by its owner only) and returns its path. */
export async function writeSmokeReport(report: SmokeReport, file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, serializeSmokeReport(report), { mode: 0o600 });
  return file;
}
