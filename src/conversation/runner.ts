/**
 * Holds the scripted conversations with live previews and says whether they passed. Knows no
 * vendor: it opens sessions through the platform's `conversation` part (or over plain HTTP for an
 * `http:` script), one session per conversation, turns in order, and agents in parallel.
 */
import pLimit from 'p-limit';
import { formatDuration } from '../duration.js';
import { ConversationError, TimeoutError } from '../errors.js';
import type { ConversationReply, ConversationSession, ConversationTarget, Conversations, Deployment } from '../platforms/platform.js';
import { redact } from '../secrets/redact.js';
import { checkReply, type CheckResult } from './expect.js';
import { openHttpSession, type HttpSessionOptions } from './http-session.js';
import type { ConversationScript, SmokeScript, TurnScript } from './script.js';

/**
 * `unsupported`: nothing could be asked (the platform cannot talk to previews, or an `http:` script
 * has no URL). `replaced`: the preview was deleted or superseded while it was being talked to (a
 * newer run replaced it, and holds its own conversations): neither a pass nor a failure of this one.
 */
export type SmokeVerdict = 'passed' | 'failed' | 'unsupported' | 'replaced';

export interface TurnOutcome {
  send: string;
  /** Redacted; absent when no reply came. */
  reply?: string;
  /** From sending the message to having the reply. */
  latencyMs?: number;
  verdict: 'passed' | 'failed' | 'not run';
  checks: CheckResult[];
  /** Why no reply came (a timeout, the platform's error), redacted. */
  error?: string;
  /** The platform's record of the reply (ids), redacted, for the report. */
  raw?: unknown;
}

export interface ConversationOutcome {
  name: string;
  /** What the platform calls it (an Agentex task id). */
  sessionId?: string;
  verdict: SmokeVerdict;
  /** Why the conversation could not be held (it was never opened, or is unsupported). */
  error?: string;
  turns: TurnOutcome[];
}

export interface AgentSmoke {
  agent: string;
  verdict: SmokeVerdict;
  /** Why it is `unsupported`. */
  reason?: string;
  deploymentId?: string;
  /** The script's file (or input) and digest: a kept result is shown again only for the same script. */
  script: { file: string; digest: string };
  conversations: ConversationOutcome[];
  turns: { passed: number; total: number };
  /** The agent's answering time: every reply's latency, summed. */
  latencyMs: number;
  /** The commit and time of the run that measured it (set by the door that knows them). */
  measured?: { sha: string; at: string };
  /** Not measured now: kept from an earlier run on the same, unchanged preview (`measured` says which). */
  kept?: boolean;
}

export interface SmokeRequest {
  agent: string;
  script: SmokeScript;
  target: ConversationTarget;
}

export interface SmokePlatform {
  readonly name: string;
  readonly conversation?: Conversations;
  readonly conversationUnsupported?: string;
}

export interface RunSmokeOptions {
  /** How many agents are talked to at once. */
  maxParallel?: number;
  signal?: AbortSignal;
  /** How long to wait for a preview to accept conversations. */
  readyTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Told each turn as it ends (the CLI prints the transcript live). */
  onTurn?: (agent: string, conversation: string, turn: TurnOutcome) => void;
  http?: HttpSessionOptions;
  /** Checked every `everyMs` while an agent is talked to: a reason stops its conversations as `replaced` (a wait for readiness would otherwise run to its end). */
  watch?: { everyMs: number; gone(deployment: Deployment): Promise<string | undefined> };
}

/** Holds every agent's conversations, up to `maxParallel` agents at once; results keep the requests' order. */
export async function runSmoke(platform: SmokePlatform, requests: SmokeRequest[], options: RunSmokeOptions = {}): Promise<AgentSmoke[]> {
  const limit = pLimit(Math.max(1, options.maxParallel ?? 4));
  return Promise.all(requests.map((request) => limit(() => smokeAgent(platform, request, options))));
}

/** The verdict of several results: any failure fails; anything left unchecked is `unsupported`; else passed. Replaced previews count for nothing. */
export function overallVerdict(verdicts: SmokeVerdict[]): Exclude<SmokeVerdict, 'replaced'> | 'skipped' {
  const counted = verdicts.filter((verdict) => verdict !== 'replaced');
  if (!counted.length) return 'skipped';
  if (counted.includes('failed')) return 'failed';
  if (counted.includes('unsupported')) return 'unsupported';
  return 'passed';
}

async function smokeAgent(platform: SmokePlatform, request: SmokeRequest, options: RunSmokeOptions): Promise<AgentSmoke> {
  const conversations: ConversationOutcome[] = [];
  const watcher = watchPreview(request.target.deployment, options);
  const agentOptions = { ...options, signal: watcher.signal };
  let stopped: string | undefined;
  try {
    for (const script of request.script.conversations) {
      agentOptions.signal?.throwIfAborted();
      if (stopped) {
        conversations.push(notHeld(script, 'failed', stopped));
        continue;
      }
      const outcome = await holdConversation(platform, request, script, agentOptions);
      // A preview that could not be opened will not open for the next conversation either.
      if (outcome.verdict === 'failed' && outcome.sessionId === undefined && outcome.turns.every((turn) => turn.verdict === 'not run')) stopped = outcome.error;
      conversations.push(outcome);
    }
  } catch (err) {
    if (options.signal?.aborted || !watcher.gone) throw err;
    const reason = redact(watcher.gone);
    for (const script of request.script.conversations.slice(conversations.length)) conversations.push(notHeld(script, 'replaced', reason));
    return agentResult(request, conversations, 'replaced', reason);
  } finally {
    watcher.stop();
  }
  const verdict = overallVerdict(conversations.map((conversation) => conversation.verdict)) as SmokeVerdict;
  // A preview replaced just before it was asked fails at once, sooner than the watch looks: ask it now.
  const gone = verdict === 'failed' ? await watcher.lookNow() : undefined;
  if (gone) return agentResult(request, conversations, 'replaced', redact(gone));
  return agentResult(request, conversations, verdict, verdict === 'unsupported' ? conversations.find((conversation) => conversation.verdict === 'unsupported')?.error : undefined);
}

interface PreviewWatcher {
  signal?: AbortSignal;
  /** Why the preview is gone, once the watch has seen it. */
  gone?: string;
  /** Asks the watch at once (a failed look counts as not gone). */
  lookNow(): Promise<string | undefined>;
  stop(): void;
}

/** The agent's signal, aborted as soon as `options.watch` says its preview is gone. */
function watchPreview(deployment: Deployment, options: RunSmokeOptions): PreviewWatcher {
  const { watch } = options;
  if (!watch) return { signal: options.signal, lookNow: async () => undefined, stop() {} };
  const controller = new AbortController();
  const state: PreviewWatcher = {
    signal: options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal,
    lookNow: async () => state.gone ?? (await watch.gone(deployment).catch(() => undefined)),
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    watch
      .gone(deployment)
      .then((reason) => {
        if (!reason || state.gone) return;
        state.gone = reason;
        controller.abort(new Error(reason));
      })
      .catch(() => {});
  }, watch.everyMs);
  timer.unref();
  return state;
}

function agentResult(request: SmokeRequest, conversations: ConversationOutcome[], verdict: SmokeVerdict, reason?: string): AgentSmoke {
  const turns = conversations.flatMap((conversation) => conversation.turns);
  return {
    agent: request.agent,
    verdict,
    reason,
    deploymentId: request.target.deployment.id,
    script: { file: request.script.file, digest: request.script.digest },
    conversations,
    turns: { passed: turns.filter((turn) => turn.verdict === 'passed').length, total: turns.length },
    latencyMs: turns.reduce((sum, turn) => sum + (turn.latencyMs ?? 0), 0),
  };
}

/** The result for an agent whose conversations could not even start (its deployment could not be read). */
export function unheldSmoke(request: SmokeRequest, error: string): AgentSmoke {
  return agentResult(
    request,
    request.script.conversations.map((script) => notHeld(script, 'failed', redact(error))),
    'failed',
  );
}

function notHeld(script: ConversationScript, verdict: SmokeVerdict, error: string | undefined): ConversationOutcome {
  return { name: script.name, verdict, error, turns: script.turns.map((turn) => ({ send: redact(turn.send), verdict: 'not run', checks: [] })) };
}

/** How a conversation is held: the `http:` script over HTTP, else the platform; or why it cannot be. */
function opener(
  platform: SmokePlatform,
  request: SmokeRequest,
  script: ConversationScript,
  options: RunSmokeOptions,
): { open: () => Promise<ConversationSession> } | { unsupported: string } {
  if (script.http) {
    const url = request.target.url;
    if (!url) return { unsupported: `the preview of ${request.agent} has no URL for the http conversation; set the preview-url input (or --preview-url) to give it one` };
    return { open: async () => openHttpSession(url, script.http!, options.http) };
  }
  const conversations = platform.conversation;
  if (!conversations) return { unsupported: platform.conversationUnsupported ?? `${platform.name} previews cannot be talked to` };
  return {
    open: () => conversations.open(request.target, { signal: options.signal, readyTimeoutMs: options.readyTimeoutMs, pollIntervalMs: options.pollIntervalMs }),
  };
}

async function holdConversation(platform: SmokePlatform, request: SmokeRequest, script: ConversationScript, options: RunSmokeOptions): Promise<ConversationOutcome> {
  const how = opener(platform, request, script, options);
  if ('unsupported' in how) return notHeld(script, 'unsupported', how.unsupported);
  let session: ConversationSession;
  try {
    session = await how.open();
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return notHeld(script, 'failed', `could not open a conversation with ${describeTarget(request.target)}: ${messageOf(err)}`);
  }
  const turns: TurnOutcome[] = [];
  try {
    let broken: string | undefined;
    for (const turn of script.turns) {
      const outcome: TurnOutcome = broken ? { send: redact(turn.send), verdict: 'not run', checks: [] } : await takeTurn(session, turn, options.signal);
      // After a turn without a reply the conversation's state is unknown: the later turns are not sent.
      if (outcome.error) broken ??= outcome.error;
      turns.push(outcome);
      options.onTurn?.(request.agent, script.name, outcome);
    }
  } finally {
    await session.close?.({ signal: AbortSignal.timeout(10_000) }).catch(() => {});
  }
  const failed = turns.some((turn) => turn.verdict !== 'passed');
  return { name: script.name, sessionId: session.id, verdict: failed ? 'failed' : 'passed', turns };
}

/**
 * Sends one message under a timeout. A session that ignores its signal still ends on time; a timeout
 * is a TimeoutError, and a cancel of `signal` rethrows its reason.
 */
export async function sendWithin(session: ConversationSession, message: string, timeoutMs: number, signal?: AbortSignal): Promise<ConversationReply> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    return await Promise.race([session.send(message, { signal: combined }), rejectOnAbort(combined)]);
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    if (timeout.aborted) throw new TimeoutError(`no reply within ${formatDuration(timeoutMs)}`);
    throw err;
  }
}

/** Sends one message under the turn's timeout and checks the reply. */
async function takeTurn(session: ConversationSession, turn: TurnScript, runSignal?: AbortSignal): Promise<TurnOutcome> {
  const started = performance.now();
  try {
    const reply = await sendWithin(session, turn.send, turn.timeoutMs, runSignal);
    const latencyMs = performance.now() - started;
    const checks = checkReply(reply.text, turn.expect).map((check) => ({ ...check, detail: check.detail && redact(check.detail) }));
    return {
      send: redact(turn.send),
      reply: redact(reply.text),
      latencyMs,
      verdict: checks.every((check) => check.passed) ? 'passed' : 'failed',
      checks,
      raw: reply.raw === undefined ? undefined : redactValue(reply.raw),
    };
  } catch (err) {
    if (runSignal?.aborted) throw err;
    const error = err instanceof TimeoutError ? `${err.message} (the turn's timeout)` : messageOf(err);
    return { send: redact(turn.send), latencyMs: performance.now() - started, verdict: 'failed', checks: [], error: redact(error) };
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function describeTarget(target: ConversationTarget): string {
  return `${target.agentName}'s preview (deployment ${target.deployment.id})`;
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // A JSON-RPC error's number, where the message does not say it; a platform's word codes (`not-ready`) say nothing the message does not.
  const code = err instanceof ConversationError && typeof err.code === 'number' && !message.includes(String(err.code)) ? ` (code ${err.code})` : '';
  return redact(`${message}${code}`);
}

/** A JSON value with every string redacted. */
function redactValue(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? redact(item) : item)));
  } catch {
    return undefined;
  }
}
