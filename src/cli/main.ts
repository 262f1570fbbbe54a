import { Command, CommanderError, Option } from 'commander';
import { ApiError, InputError, TimeoutError } from '../errors.js';
import { PhaseError } from '../pipeline/errors.js';
import { PLATFORM_NAMES } from '../platforms/index.js';
import { redact } from '../secrets/redact.js';
import { build, defineBuild } from './commands/build.js';
import { defineDemo, demo } from './commands/demo.js';
import { defineDeploy, deploy } from './commands/deploy.js';
import { defineLocalPlatform, localPlatform } from './commands/local-platform.js';
import { defineLogs, logs } from './commands/logs.js';
import { definePack, pack } from './commands/pack.js';
import { defineStatus, status } from './commands/status.js';
import { defineSweep, sweep } from './commands/sweep.js';
import { defineTeardown, teardown } from './commands/teardown.js';
import { stripControls } from './terminal.js';
import { cliContext, EXIT, type CliContext, type CliIo, type GlobalOptions } from './context.js';

export { EXIT, type CliIo } from './context.js';

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const signal = io.signal ?? new AbortController().signal;
  const program = new Command('agent-preview')
    .description('Per-pull-request preview deployments for AI agents.')
    .addOption(new Option('--platform <name>', 'hosting platform').choices([...PLATFORM_NAMES]))
    .option('--api-url <url>', 'platform API base URL (env SGP_CLIENT_BASE_URL; local: AGENT_PREVIEW_LOCAL_URL)')
    .option('--api-key <key>', 'platform API key; prefer env SGP_API_KEY, which stays out of shell history')
    .option('--account-id <id>', 'platform account (env SGP_ACCOUNT_ID)')
    .option('--json', 'print results as JSON on stdout')
    .option('-q, --quiet', 'hide build log lines')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run agent-preview --help for usage)');

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

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportFailure(err, io, signal);
  }
}

function reportFailure(err: unknown, io: CliIo, signal: AbortSignal): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
  const say = (text: string) => io.stderr.write(`${stripControls(redact(text))}\n`);
  if (signal.aborted) {
    say('cancelled');
    return EXIT.cancelled;
  }
  if (err instanceof InputError) {
    say(`error: ${err.message}`);
    return EXIT.badInput;
  }
  if (err instanceof PhaseError) {
    say(`error: ${err.message}`);
    for (const line of err.logTail) say(`  ${line}`);
    return EXIT.failed;
  }
  if (err instanceof ApiError || err instanceof TimeoutError) {
    say(`error: ${err.message}`);
    return EXIT.failed;
  }
  say(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.failed;
}
