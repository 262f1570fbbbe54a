import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { GONE_DEPLOY_PHASES } from '../../platforms/platform.js';
import { removePreviews } from '../../previews/close.js';
import { CommandFailure, EXIT, type CliContext } from '../context.js';
import { describeTeardown, teardownSummary } from '../describe.js';
import { cliRepository, hashedLabelsHint, hashedVariantsOf, previewLabelsFor } from '../repository.js';

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
    .option('--label <label>', 'preview label (taken as written unless --repo is given)')
    .option('--pr <number>', "pull request number: the repository's label for it (pr-<number>-<hash>, as the action labels it)")
    .option('--agent <name...>', 'only these agents')
    .option(
      '--repo <host/owner/repo>',
      "only previews deployed from this repository (e.g. github.com/acme/agents; default for --pr: the repository the checkout's git remote origin names); previews that record no repository are kept unless --agent names them",
    )
    .option('--dry-run', 'list what would be deleted, delete nothing');
}

export async function teardown(cli: CliContext, options: TeardownOptions): Promise<number> {
  if (!options.label && options.pr === undefined) throw new InputError('give --label or --pr', { field: '--label' });
  const reporter = cli.reporter();
  const repository = await cliRepository(cli, options.repo, reporter);
  const { labels, repo, pr } = previewLabelsFor(cli, options, repository);
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
  const touched = outcome.deleted.length + outcome.alreadyGone.length + outcome.wouldDelete.length + outcome.failed.length;
  const untouched = outcome.withoutProvenance.length + outcome.otherRepos.length;
  if (touched + untouched === 0 && outcome.agents.length === 0 && pr !== undefined) {
    const everything = await platform.listDeployments({}, { signal: cli.signal });
    const live = everything.filter((deployment) => !GONE_DEPLOY_PHASES.has(deployment.phase));
    const hashed = hashedVariantsOf(
      labels.legacyLabel,
      live.map((deployment) => deployment.previewLabel),
      new Set([labels.label, labels.legacyLabel]),
    );
    if (hashed.length) throw new CommandFailure(`nothing was deleted: ${hashedLabelsHint(pr, labels.legacyLabel, hashed, repository)}`);
  }
  reporter.flush();
  if (cli.options.json) cli.emitJson(teardownSummary(outcome));
  else cli.print(describeTeardown(outcome, options.dryRun));
  return outcome.failed.length ? EXIT.failed : EXIT.ok;
}
