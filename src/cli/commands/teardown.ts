import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { resolvePreviewLabel } from '../../pipeline/label.js';
import { removePreviews } from '../../previews/close.js';
import { EXIT, type CliContext } from '../context.js';
import { describeTeardown, teardownSummary } from '../describe.js';
import { prNumber, repoOption } from '../options.js';

export interface TeardownOptions {
  label?: string;
  pr?: string;
  agent?: string[];
  repo?: string;
  dryRun?: boolean;
}

export function defineTeardown(program: Command): Command {
  return program
    .command('teardown')
    .description("delete a preview label's deployments (safe to repeat)")
    .option('--label <label>', 'preview label')
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--agent <name...>', 'only these agents')
    .option(
      '--repo <host/owner/repo>',
      'only previews deployed from this repository (e.g. github.com/acme/agents); previews that record no repository are kept unless --agent names them',
    )
    .option('--dry-run', 'list what would be deleted, delete nothing');
}

export async function teardown(cli: CliContext, options: TeardownOptions): Promise<number> {
  const pr = prNumber(options.pr);
  if (!options.label && pr === undefined) throw new InputError('give --label or --pr', { field: '--label' });
  const repo = repoOption(options.repo);
  const reporter = cli.reporter();
  const labels = resolvePreviewLabel(options.label, { number: pr }, '--label', cli.labelRule(), repo);
  if (labels.note) reporter.warn(labels.note);
  const platform = cli.platform(reporter);
  const outcome = await removePreviews({
    platform,
    labels,
    agentNames: options.agent,
    repo,
    adoptUnproven: options.agent,
    reporter,
    signal: cli.signal,
    dryRun: options.dryRun,
  });
  reporter.flush();
  if (cli.options.json) cli.emitJson(teardownSummary(outcome));
  else cli.print(describeTeardown(outcome, options.dryRun));
  return outcome.failed.length ? EXIT.failed : EXIT.ok;
}
