import type { Readable, Writable } from 'node:stream';
import { formatDuration } from '../duration.js';
import { InputError } from '../errors.js';
import { createPlatform, DEFAULT_LOCAL_URL, labelRuleFor, parsePlatformName, PLATFORM_KEY_VARIABLES, type PlatformSettings } from '../platforms/index.js';
import type { LabelRule, Platform } from '../platforms/platform.js';
import { nonEmpty } from '../platforms/settings.js';
import { MIN_MASKED_SECRET_LENGTH, redact, registerSecret } from '../secrets/redact.js';
import { stringifyWithoutControls, stripControls, terminalReporter, type TerminalReporter } from './terminal.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  /** Where `chat` reads messages; the process's stdin when absent. */
  stdin?: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where the command runs, for the checkout's git remote (default process.cwd()). */
  cwd?: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export const EXIT = { ok: 0, failed: 1, badInput: 2, cancelled: 130, brokenPipe: 141 } as const;

/** A command that could not do its work, for a reason its message says in full (exit 1, no stack). */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/** The options every command takes. */
export interface GlobalOptions {
  platform?: string;
  apiUrl?: string;
  apiKey?: string;
  accountId?: string;
  json?: boolean;
  quiet?: boolean;
}

/** What a command needs from the CLI around it: where to print, the platform, the signal. */
export interface CliContext {
  io: CliIo;
  signal: AbortSignal;
  options: GlobalOptions;
  /** A result line on stdout, without control characters. */
  print(text: string): void;
  /** A result as JSON on stdout (with --json). */
  emitJson(value: unknown): void;
  /** Progress on stderr. */
  reporter(): TerminalReporter;
  /** The platform client the global options name; with a reporter, retries are reported on it. `extra`: a command's own settings (`--agentex-url`). */
  platform(reporter?: TerminalReporter, extra?: Pick<PlatformSettings, 'agentexUrl'>): Platform;
  /** The chosen platform's own preview-label rule, known before any client exists. */
  labelRule(): LabelRule;
}

export function cliContext(io: CliIo, signal: AbortSignal, options: GlobalOptions): CliContext {
  const print = (text: string): void => {
    io.stdout.write(`${stripControls(redact(text))}\n`);
  };
  return {
    io,
    signal,
    options,
    print,
    emitJson: (value) => print(stringifyWithoutControls(value)),
    reporter: () => terminalReporter({ stream: io.stderr, quiet: options.quiet }),
    labelRule: () => labelRuleFor(options.platform ?? io.env.AGENT_PREVIEW_PLATFORM),
    platform: (reporter, extra) => {
      registerSecret(options.apiKey);
      const name = parsePlatformName(options.platform ?? io.env.AGENT_PREVIEW_PLATFORM);
      const key = checkApiKey(name, options.apiKey, io.env);
      if (key && key.length < MIN_MASKED_SECRET_LENGTH) {
        (reporter ?? terminalReporter({ stream: io.stderr })).warn(`the ${name} API key is shorter than ${MIN_MASKED_SECRET_LENGTH} characters, too short to be masked in output`);
      }
      const localUrl = name === 'local' ? options.apiUrl || io.env.AGENT_PREVIEW_LOCAL_URL || DEFAULT_LOCAL_URL : undefined;
      return createPlatform({
        ...extra,
        platform: name,
        apiUrl: options.apiUrl,
        apiKey: options.apiKey,
        accountId: options.accountId,
        env: io.env,
        onRetry: (notice) => {
          // The local platform runs on this machine: a refused connection means nothing listens there,
          // and waiting for it to appear would only delay saying so.
          if (localUrl && notice.reason === 'ECONNREFUSED') {
            throw new CommandFailure(
              `nothing listens at ${localUrl} (--platform local): start the local platform with \`agent-preview local-platform\` in another terminal, or point --api-url at one`,
            );
          }
          reporter?.warn(`${notice.call}: ${notice.reason}; retrying in ${formatDuration(notice.delayMs)} (${notice.attempt}/${notice.of})`);
        },
        onNotice: reporter ? (message) => reporter.warn(message) : undefined,
      });
    },
  };
}

/** The platform's key, from --api-key or its variable; missing, an error that says what the CLI takes (not the action's input). */
function checkApiKey(name: ReturnType<typeof parsePlatformName>, given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name === 'local') return nonEmpty(given) ?? nonEmpty(env.AGENT_PREVIEW_LOCAL_KEY);
  const variable = PLATFORM_KEY_VARIABLES[name];
  const key = nonEmpty(given) ?? nonEmpty(env[variable]);
  if (!key) throw new InputError(`no ${name} API key: set ${variable} (or pass --api-key, which shell history keeps)`, { field: '--api-key' });
  return key;
}
