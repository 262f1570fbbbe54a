import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRunOptions, runAgentsCommand, type RunOptions } from './run.js';

export type BuildOptions = RunOptions;

export function defineBuild(program: Command): Command {
  return addRunOptions(program.command('build').description('build agents on the platform (reusing an unchanged build)'));
}

export function build(cli: CliContext, options: BuildOptions): Promise<number> {
  return runAgentsCommand(cli, 'build', options);
}
