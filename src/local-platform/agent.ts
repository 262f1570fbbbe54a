import { parseDuration } from '../duration.js';

/**
 * The local platform's deterministic agent: what a preview deployed on the local platform answers.
 * No real platform has it; it stands in for the agent's own code so that every conversation path
 * (a reply, a slow one, a wrong one, a failure, silence, a preview that never registers) can be
 * driven offline. Its answer depends on the message and on the built code: directive lines in the
 * build context (`# local-platform: reply Hi, {message}!`) and directives inside a message
 * (`[local-platform: slow 3s]`). docs/local-platform.md describes each one.
 */

/** Every directive the local agent understands, by name. */
export const AGENT_DIRECTIVES = {
  /** Code only. The reply template: `{message}`, `{agent}`, `{turn}` and `{previous}` are filled in. */
  reply: 'reply',
  /** Code or message. Each reply takes this long (a duration: `2s`, `500ms`, `1m`). */
  slow: 'slow',
  /** Code or message. The reply is `WRONG_REPLY`, which names neither the message nor the agent. */
  wrong: 'wrong',
  /** Code or message. The turn fails with a JSON-RPC error carrying the argument (or `DEFAULT_FAILURE`). */
  fail: 'fail',
  /** Code or message. The agent answers nothing: a sync agent returns no message, an async agent writes none. */
  silent: 'silent',
  /** Code only. The preview runs but never registers with the Agentex server: its deployment record stays Pending. */
  neverReady: 'never-ready',
  /** Code only, async agents. The agent writes this message when a task is created, before any event. */
  welcome: 'welcome',
} as const;

export type AgentDirectiveName = (typeof AGENT_DIRECTIVES)[keyof typeof AGENT_DIRECTIVES];

export const DEFAULT_REPLY_TEMPLATE = 'Hello, {message}! This reply comes from {agent}.';
export const WRONG_REPLY = 'This is a wrong answer from the local platform.';
export const DEFAULT_FAILURE = 'the agent failed (local-platform: fail)';

const NAMES = new Set<string>(Object.values(AGENT_DIRECTIVES));
const CODE_ONLY = new Set<string>([AGENT_DIRECTIVES.reply, AGENT_DIRECTIVES.neverReady, AGENT_DIRECTIVES.welcome]);
/** A line of its own in any file of the build context: `# local-platform: <name> [argument]`. */
const CODE_LINE = /^#\s*local-platform:\s*([a-z-]+)(?:\s+(.*))?$/;
/** Anywhere in a message: `[local-platform: <name> [argument]]`. */
const MESSAGE_DIRECTIVE = /\[local-platform:\s*([a-z-]+)(?:\s+([^\]]*))?\]/g;

/** A directive line of the build context, as written there. */
export interface AgentDirective {
  name: string;
  argument?: string;
}

/** The line that declares a directive in the built code, e.g. `agentCodeDirective('slow', '2s')` → `# local-platform: slow 2s`. */
export function agentCodeDirective(name: AgentDirectiveName, argument?: string): string {
  return argument ? `# local-platform: ${name} ${argument}` : `# local-platform: ${name}`;
}

/** The text that puts a directive in a message, e.g. `agentMessageDirective('fail', 'boom')` → `[local-platform: fail boom]`. */
export function agentMessageDirective(name: AgentDirectiveName, argument?: string): string {
  return argument ? `[local-platform: ${name} ${argument}]` : `[local-platform: ${name}]`;
}

/** The directive lines of one file's text, in order. Lines naming no known directive are ignored (a typo shows up as no effect, so docs list the names). */
export function directivesInCode(text: string): AgentDirective[] {
  const found: AgentDirective[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = CODE_LINE.exec(line.trim());
    if (match && NAMES.has(match[1])) found.push({ name: match[1], argument: match[2]?.trim() || undefined });
  }
  return found;
}

/** What the built code declares; the first directive of a name wins (archive order). */
export class AgentCode {
  private readonly byName = new Map<string, AgentDirective>();

  constructor(directives: AgentDirective[] = []) {
    for (const directive of directives) if (!this.byName.has(directive.name)) this.byName.set(directive.name, directive);
  }

  has(name: AgentDirectiveName): boolean {
    return this.byName.has(name);
  }

  argument(name: AgentDirectiveName): string | undefined {
    return this.byName.get(name)?.argument;
  }
}

export interface TurnInput {
  agentName: string;
  /** The user's message as sent, directives included. */
  message: string;
  /** 1 for the first user message of the task. */
  turn: number;
  /** The previous user message of the task (directives removed), or '' on the first turn. */
  previous: string;
}

export type TurnOutcome = { kind: 'reply'; text: string; delayMs: number } | { kind: 'fail'; message: string; delayMs: number } | { kind: 'silent'; delayMs: number };

/** The message without its directives, as the agent quotes it. */
export function withoutDirectives(message: string): string {
  return message.replace(MESSAGE_DIRECTIVE, '').replace(/\s+/g, ' ').trim();
}

/** How the agent answers one message. A directive in the message wins over the same one in the code. */
export function answerTurn(code: AgentCode, input: TurnInput): TurnOutcome {
  const inMessage = new Map<string, string | undefined>();
  for (const match of input.message.matchAll(MESSAGE_DIRECTIVE)) {
    if (NAMES.has(match[1]) && !CODE_ONLY.has(match[1])) inMessage.set(match[1], match[2]?.trim() || undefined);
  }
  const active = (name: AgentDirectiveName) => inMessage.has(name) || code.has(name);
  const argumentOf = (name: AgentDirectiveName) => (inMessage.has(name) ? inMessage.get(name) : code.argument(name));

  let delayMs = 0;
  if (active(AGENT_DIRECTIVES.slow)) {
    const text = argumentOf(AGENT_DIRECTIVES.slow);
    try {
      delayMs = parseDuration(text ?? '', 'slow', { minMs: 0, maxMs: 3_600_000 });
    } catch {
      return { kind: 'fail', message: `local-platform: "slow" needs a duration such as 2s or 500ms, not "${text ?? ''}"`, delayMs: 0 };
    }
  }
  if (active(AGENT_DIRECTIVES.fail)) return { kind: 'fail', message: argumentOf(AGENT_DIRECTIVES.fail) ?? DEFAULT_FAILURE, delayMs };
  if (active(AGENT_DIRECTIVES.silent)) return { kind: 'silent', delayMs };
  if (active(AGENT_DIRECTIVES.wrong)) return { kind: 'reply', text: WRONG_REPLY, delayMs };
  const template = code.argument(AGENT_DIRECTIVES.reply) ?? DEFAULT_REPLY_TEMPLATE;
  const values: Record<string, string> = { message: withoutDirectives(input.message), agent: input.agentName, turn: String(input.turn), previous: input.previous };
  return { kind: 'reply', text: template.replace(/\{(message|agent|turn|previous)\}/g, (_, key: string) => values[key]), delayMs };
}
