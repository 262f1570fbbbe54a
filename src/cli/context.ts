import type { Writable } from 'node:stream';
import { formatDuration } from '../duration.js';
import { createPlatform, labelRuleFor } from '../platforms/index.js';
import type { LabelRule, Platform } from '../platforms/platform.js';
import { redact, registerSecret } from '../secrets/redact.js';
import { stringifyWithoutControls, stripControls, terminalReporter, type TerminalReporter } from './terminal.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
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
  /** The platform client the global options name; with a reporter, retries are reported on it. */
  platform(reporter?: TerminalReporter): Platform;
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
    platform: (reporter) => {
      registerSecret(options.apiKey);
      return createPlatform({
        platform: options.platform ?? io.env.AGENT_PREVIEW_PLATFORM,
        apiUrl: options.apiUrl,
        apiKey: options.apiKey,
        accountId: options.accountId,
        env: io.env,
        onRetry: reporter
          ? (notice) => reporter.warn(`${notice.call}: ${notice.reason}; retrying in ${formatDuration(notice.delayMs)} (${notice.attempt}/${notice.of})`)
          : undefined,
        onNotice: reporter ? (message) => reporter.warn(message) : undefined,
      });
    },
  };
}
