import type { Command } from 'commander';
import type { Deployment, DeployPhase } from '../../platforms/platform.js';
import { EXIT, type CliContext } from '../context.js';
import { formatDeploymentTable } from '../describe.js';
import { cliRepository, hashedLabelsHint, hashedVariantsOf, previewLabelsFor } from '../repository.js';

export interface StatusOptions {
  label?: string;
  pr?: string;
  agent?: string;
  id?: string;
  repo?: string;
  all?: boolean;
}

/** Deployments that no longer run; listed only with --all. */
const GONE: ReadonlySet<DeployPhase> = new Set(['deleted', 'superseded']);

export function defineStatus(program: Command): Command {
  return program
    .command('status')
    .description('list deployments by label, PR or agent; without a filter, the live previews')
    .option('--label <label>', 'preview label')
    .option('--pr <number>', "pull request number: the repository's label for it (pr-<number>-<hash>, as the action labels it) and the plain pr-<number>")
    .option('--repo <host/owner/repo>', "whose pull request --pr means (default: the repository the checkout's git remote origin names)")
    .option('--agent <name>', 'agent name')
    .option('--id <deployment>', 'one deployment')
    .option('--all', 'without a filter: also list deleted and superseded previews');
}

export async function status(cli: CliContext, options: StatusOptions): Promise<number> {
  const reporter = cli.reporter();
  const platform = cli.platform();
  const { signal } = cli;
  let deployments: Deployment[];
  if (options.id) deployments = [await platform.getDeployment(options.id, { signal })];
  else if (options.label || options.pr !== undefined) {
    const repository = await cliRepository(cli, options.repo, reporter);
    const { labels, pr } = previewLabelsFor(cli, options, repository);
    // The repository's label, and the label as written or the plain pr-<number> an earlier version (or the CLI without a repository) used.
    const wanted = new Set([labels.label, options.label && !options.label.includes('{') ? options.label : labels.legacyLabel]);
    const found = new Map<string, Deployment>();
    for (const label of wanted) {
      for (const deployment of await platform.listDeployments({ previewLabel: label, agentName: options.agent }, { signal })) {
        if (deployment.previewLabel === label) found.set(deployment.id, deployment);
      }
    }
    deployments = [...found.values()].sort((a, b) => Date.parse(b.createdAt ?? '') - Date.parse(a.createdAt ?? '') || 0);
    if (deployments.length === 0 && pr !== undefined) {
      const everything = await platform.listDeployments({ agentName: options.agent }, { signal });
      const hashed = hashedVariantsOf(
        labels.legacyLabel,
        everything.map((deployment) => deployment.previewLabel),
        wanted,
      );
      if (hashed.length) reporter.warn(hashedLabelsHint(pr, labels.legacyLabel, hashed, repository));
    }
  } else {
    deployments = await platform.listDeployments({ agentName: options.agent }, { signal });
    if (!options.agent) {
      // Without a filter: the previews, and of those only the live ones unless --all.
      deployments = deployments.filter((deployment) => deployment.previewLabel && (options.all || !GONE.has(deployment.phase)));
      if (deployments.length === 0 && !options.all) return noneFound(cli, 'no live previews (--all also lists deleted ones)');
    }
  }
  reporter.flush();
  if (deployments.length === 0) return noneFound(cli, 'no deployments found');
  if (cli.options.json) cli.emitJson(deployments);
  else cli.print(formatDeploymentTable(deployments));
  return EXIT.ok;
}

function noneFound(cli: CliContext, message: string): number {
  if (cli.options.json) cli.emitJson([]);
  else cli.print(message);
  return EXIT.ok;
}
