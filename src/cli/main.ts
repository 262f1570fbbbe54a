import { Command, CommanderError, Option } from 'commander';
import { ApiError, InputError, TimeoutError } from '../errors.js';
import { PhaseError } from '../pipeline/errors.js';
import { PLATFORM_NAMES } from '../platforms/index.js';
import { redact } from '../secrets/redact.js';
import { build, defineBuild } from './commands/build.js';
import { chat, defineChat } from './commands/chat.js';
import { defineDemo, demo } from './commands/demo.js';
import { defineDeploy, deploy } from './commands/deploy.js';
import { defineLocalPlatform, localPlatform } from './commands/local-platform.js';
import { defineLogs, logs } from './commands/logs.js';
import { definePack, pack } from './commands/pack.js';
import { defineSmoke, smoke } from './commands/smoke.js';
import { defineStatus, status } from './commands/status.js';
import { defineSweep, sweep } from './commands/sweep.js';
import { defineTeardown, teardown } from './commands/teardown.js';
import { cliContext, CommandFailure, EXIT, type CliContext, type CliIo, type GlobalOptions } from './context.js';
import { packageVersion } from './package.js';
import { stringifyWithoutControls, stripControls } from './terminal.js';

export { EXIT, type CliIo } from './context.js';

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const signal = io.signal ?? new AbortController().signal;
  // Known before parsing, so that even a usage error is answered in JSON.
  const json = argv.includes('--json');
  const { program, exitCode } = cliProgram(io, signal, json);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    return reportFailure(err, io, signal, json);
  }
}

/**
 * The program: every command and option, each command's action running it. Parsing throws a
 * `CommanderError` for a usage error (the documentation test parses command lines with it, the
 * actions replaced).
 */
export function cliProgram(io: CliIo, signal: AbortSignal, json: boolean): { program: Command; exitCode(): number } {
  const program = new Command('agent-preview')
    .description('Per-pull-request preview deployments for AI agents.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--platform <name>', 'hosting platform').choices([...PLATFORM_NAMES]))
    .option('--api-url <url>', 'platform API base URL (env SGP_CLIENT_BASE_URL; local: AGENT_PREVIEW_LOCAL_URL)')
    .option('--api-key <key>', 'platform API key; prefer env SGP_API_KEY, which stays out of shell history')
    .option('--account-id <id>', 'platform account (env SGP_ACCOUNT_ID)')
    .option('--json', 'print results, and errors, as JSON on stdout')
    .option('-q, --quiet', 'hide build log lines')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // With --json the error is reported once, as JSON, by reportFailure.
      writeErr: (text) => (json ? undefined : io.stderr.write(text)),
    });
  if (!json) program.showHelpAfterError('(run agent-preview --help for usage)');

  // Each command is a function of the context and its options that returns the exit code.
  let exitCode: number = EXIT.ok;
  const cli = (): CliContext => cliContext(io, signal, program.opts<GlobalOptions>());
  const exitsWith =
    <A extends unknown[]>(command: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await command(...args);
    };
  definePack(program).action(exitsWith((options) => pack(cli(), options)));
  defineBuild(program).action(exitsWith((options) => build(cli(), options)));
  defineDeploy(program).action(exitsWith((options) => deploy(cli(), options)));
  defineStatus(program).action(exitsWith((options) => status(cli(), options)));
  defineLogs(program).action(exitsWith((id: string, options) => logs(cli(), id, options)));
  defineTeardown(program).action(exitsWith((options) => teardown(cli(), options)));
  defineSweep(program).action(exitsWith((options) => sweep(cli(), options)));
  defineLocalPlatform(program).action(exitsWith((options) => localPlatform(cli(), options)));
  defineDemo(program).action(exitsWith((options) => demo(cli(), options)));
  defineChat(program).action(exitsWith((options) => chat(cli(), options)));
  defineSmoke(program).action(exitsWith((options) => smoke(cli(), options)));
  // A usage error points at the help of the command it was made in, not the program's.
  if (!json) for (const command of program.commands) command.showHelpAfterError(`(run agent-preview ${command.name()} --help for usage)`);
  return { program, exitCode: () => exitCode };
}

interface FailureReport {
  exitCode: number;
  message: string;
  /** Where bad input is: file, line, field. */
  file?: string;
  line?: number;
  field?: string;
  /** The platform's last log lines, for a failed phase. */
  logTail?: string[];
}

/** Says what failed, once: a line on stderr, or with --json an `{"error": ...}` object on stdout. */
function reportFailure(err: unknown, io: CliIo, signal: AbortSignal, json: boolean): number {
  const report = failureReport(err, signal);
  if (report.exitCode === EXIT.ok) return EXIT.ok;
  if (json) {
    io.stdout.write(`${redact(stringifyWithoutControls({ error: report }))}\n`);
    return report.exitCode;
  }
  const say = (text: string) => io.stderr.write(`${stripControls(redact(text))}\n`);
  if (!(err instanceof CommanderError)) say(report.message === 'cancelled' ? 'cancelled' : `error: ${report.message}`);
  for (const line of report.logTail ?? []) say(`  ${line}`);
  return report.exitCode;
}

function failureReport(err: unknown, signal: AbortSignal): FailureReport {
  if (err instanceof CommanderError) {
    // --help and --version end in a CommanderError with exit code 0.
    return { exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.badInput, message: err.message.replace(/^error: /, '') };
  }
  if (signal.aborted) return { exitCode: EXIT.cancelled, message: 'cancelled' };
  if (err instanceof InputError) return { exitCode: EXIT.badInput, message: err.message, file: err.file, line: err.line, field: err.field };
  if (err instanceof PhaseError) return { exitCode: EXIT.failed, message: err.message, logTail: err.logTail };
  if (err instanceof ApiError || err instanceof TimeoutError || err instanceof CommandFailure) return { exitCode: EXIT.failed, message: err.message };
  const fileSystem = fileSystemError(err);
  if (fileSystem) return { exitCode: EXIT.badInput, message: fileSystem };
  return { exitCode: EXIT.failed, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}

/** A file-system error (Node's errors that name a path): one line naming the path, no stack. */
function fileSystemError(err: unknown): string | undefined {
  // Duck-typed: Node's own errors need not be instances of this realm's Error.
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, path: file, syscall, message } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof file !== 'string') return undefined;
  // Node words them "ENOENT: no such file or directory, open '/x'".
  const reason = /^E[A-Z]+: ([^,]+),/.exec(String(message))?.[1] ?? code;
  return `cannot ${syscall ?? 'use'} ${file}: ${reason}`;
}
