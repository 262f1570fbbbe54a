import type { Command } from 'commander';
import { resolvePreviewLabel } from '../../pipeline/label.js';
import type { Deployment, DeployPhase } from '../../platforms/platform.js';
import { EXIT, type CliContext } from '../context.js';
import { formatDeploymentTable } from '../describe.js';
import { prNumber } from '../options.js';

export interface StatusOptions {
  label?: string;
  pr?: string;
  agent?: string;
  id?: string;
  all?: boolean;
}

/** Deployments that no longer run; listed only with --all. */
const GONE: ReadonlySet<DeployPhase> = new Set(['deleted', 'superseded']);

export function defineStatus(program: Command): Command {
  return program
    .command('status')
    .description('list deployments by label, PR or agent; without a filter, the live previews')
    .option('--label <label>', 'preview label')
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--agent <name>', 'agent name')
    .option('--id <deployment>', 'one deployment')
    .option('--all', 'without a filter: also list deleted and superseded previews');
}

export async function status(cli: CliContext, options: StatusOptions): Promise<number> {
  const platform = cli.platform();
  let deployments: Deployment[];
  if (options.id) deployments = [await platform.getDeployment(options.id, { signal: cli.signal })];
  else {
    const pr = prNumber(options.pr);
    const label = options.label || pr !== undefined ? resolvePreviewLabel(options.label, { number: pr }, '--label', cli.labelRule()).label : undefined;
    deployments = await platform.listDeployments({ previewLabel: label, agentName: options.agent }, { signal: cli.signal });
    if (!label && !options.agent) {
      // Without a filter: the previews, and of those only the live ones unless --all.
      deployments = deployments.filter((deployment) => deployment.previewLabel && (options.all || !GONE.has(deployment.phase)));
      if (deployments.length === 0 && !options.all) return noneFound(cli, 'no live previews (--all also lists deleted ones)');
    }
  }
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
