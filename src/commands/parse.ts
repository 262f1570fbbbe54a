/**
 * Reading a `/preview` command from a pull request comment. Only the comment's first line counts,
 * and only when it begins with `/preview` (after at most three spaces: four or more make it an
 * indented code block in Markdown, CommonMark 0.31.2 §4.4): a quoted line (`> /preview …`), a code
 * span or block, or a command further down the comment is text, not a command. The rest of the
 * comment is for people. Pure: no forge, no platform.
 */
import { InputError } from '../errors.js';
import { formatDuration, parseDuration } from '../duration.js';

/** What a comment's first line asks for. `invalid` is a known command given wrong arguments. */
export type PreviewCommand =
  | { name: 'ask'; text: string }
  | { name: 'extend'; durationMs: number }
  | { name: 'redeploy'; agent?: string }
  | { name: 'destroy' }
  | { name: 'help' }
  | { name: 'unknown'; word: string }
  | { name: 'invalid'; command: KnownCommand; problem: string };

export type KnownCommand = 'ask' | 'extend' | 'redeploy' | 'destroy' | 'help';

export interface ParsedCommand {
  /** The command line as written (trimmed), for quoting in the reply. */
  line: string;
  command: PreviewCommand;
}

export const COMMAND_PREFIX = '/preview';

/** The longest first line read as a command: a longer one is refused, not cut (an `ask` message must be sent whole). */
export const MAX_COMMAND_LINE = 32_000;

/** `extend` takes from one minute to seven days at a time, so that no single comment keeps a preview for ever. */
export const EXTEND_LIMITS = { minMs: 60_000, maxMs: 7 * 86_400_000 };

const COMMAND_LINE = /^ {0,3}\/preview(?=\s|$)(.*)$/i;

/** The command in a comment's first line; undefined when the comment is not addressed to agent-preview. */
export function parseCommand(body: string): ParsedCommand | undefined {
  const firstLine = firstLineOf(body);
  const match = COMMAND_LINE.exec(firstLine);
  if (!match) return undefined;
  const line = firstLine.trim();
  if (line.length > MAX_COMMAND_LINE) {
    return {
      line: line.slice(0, 200),
      command: { name: 'invalid', command: 'ask', problem: `the command is ${line.length} characters long; at most ${MAX_COMMAND_LINE} are read` },
    };
  }
  const rest = match[1].trim();
  const [word = '', ...others] = rest.split(/\s+/).filter(Boolean);
  const args = rest.slice(word.length).trim();
  return { line, command: commandOf(word.toLowerCase(), word, args, others) };
}

/** The comment's first line that has anything on it (a comment may begin with blank lines). */
export function firstLineOf(body: string): string {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  return lines.find((text) => text.trim() !== '') ?? '';
}

function commandOf(name: string, word: string, args: string, words: string[]): PreviewCommand {
  switch (name) {
    case '':
    case 'help':
      return { name: 'help' };
    case 'ask':
      return args ? { name: 'ask', text: args } : invalid('ask', 'say what to ask: `/preview ask [agent] <message>`');
    case 'extend':
      return extendOf(args, words);
    case 'redeploy':
      if (words.length > 1) return invalid('redeploy', `it takes at most one agent name, not "${args}"`);
      return words[0] ? { name: 'redeploy', agent: words[0] } : { name: 'redeploy' };
    case 'destroy':
      return words.length ? invalid('destroy', 'it takes no arguments') : { name: 'destroy' };
    default:
      return { name: 'unknown', word };
  }
}

function extendOf(args: string, words: string[]): PreviewCommand {
  if (words.length !== 1) return invalid('extend', 'give one duration, e.g. `/preview extend 4h`');
  try {
    return { name: 'extend', durationMs: parseDuration(words[0], 'duration', EXTEND_LIMITS) };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // The parser's own words, without its field prefix (the reply names the command instead).
    const why = err.message.replace(/^field "duration": /, '');
    return invalid('extend', `${why} (from ${formatDuration(EXTEND_LIMITS.minMs)} to ${formatDuration(EXTEND_LIMITS.maxMs)}; "${args}" was given)`);
  }
}

function invalid(command: KnownCommand, problem: string): PreviewCommand {
  return { name: 'invalid', command, problem };
}

/**
 * Which agent an `ask` is for, and the message: the first word names an agent only when it is one
 * of the agents the pull request has live previews of and a message follows it; otherwise the whole
 * text is the message (for the only agent).
 */
export function splitAgent(text: string, agents: string[]): { agent?: string; message: string } {
  const match = /^(\S+)\s+([\s\S]+)$/.exec(text.trim());
  if (match && agents.includes(match[1])) return { agent: match[1], message: match[2].trim() };
  return { message: text.trim() };
}
