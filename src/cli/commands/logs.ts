import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { CommandFailure, EXIT, type CliContext } from '../context.js';

const MAX_RECONNECTS = 5;

export interface LogsOptions {
  build?: boolean;
  tail: string;
}

export function defineLogs(program: Command): Command {
  return program
    .command('logs <id>')
    .description("a deployment's runtime logs, or with --build a build's log")
    .option('--build', 'the id is a build: stream its build log')
    .option('--tail <lines>', 'at most this many deployment log lines', '200');
}

export async function logs(cli: CliContext, id: string, options: LogsOptions): Promise<number> {
  const platform = cli.platform();
  const { signal } = cli;
  if (options.build) {
    const builder = platform.builder;
    if (!builder?.streamBuildLogs) throw new InputError(`${platform.name} has no build log to stream`, { field: '--build' });
    // The stream reports a failure as a dropped stream; asking for the build first makes a bad id
    // or an unreachable platform an error that names the call.
    await builder.getBuild(id, { signal });
    const lines: string[] = [];
    const onLine = (line: string) => (cli.options.json ? lines.push(line) : cli.print(line));
    let cursor = await builder.streamBuildLogs(id, onLine, { signal });
    for (let retry = 0; cursor.ended === 'dropped' && retry < MAX_RECONNECTS; retry++) {
      cursor = await builder.streamBuildLogs(id, onLine, { signal, resume: cursor });
    }
    if (cursor.ended === 'dropped') {
      throw new CommandFailure(`the build log of ${id} broke off after ${cursor.lines} line(s) and ${MAX_RECONNECTS} reconnects: ${cursor.reason ?? 'connection closed'}`);
    }
    if (cli.options.json) cli.emitJson(lines);
    return EXIT.ok;
  }
  const maxLines = Number.parseInt(options.tail, 10);
  if (!Number.isInteger(maxLines) || maxLines <= 0) throw new InputError(`"${options.tail}" is not a positive number`, { field: '--tail' });
  const lines = await platform.deploymentLogs(id, { signal, maxLines });
  if (cli.options.json) cli.emitJson(lines);
  else if (lines.length === 0) cli.print('no log lines');
  else for (const line of lines) cli.print(`${line.timestamp ? `${line.timestamp} ` : ''}${line.level ? `[${line.level}] ` : ''}${line.message}`);
  return EXIT.ok;
}
