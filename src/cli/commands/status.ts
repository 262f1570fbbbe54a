import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { resolvePreviewLabel } from '../../pipeline/label.js';
import type { Deployment } from '../../platforms/platform.js';
import { EXIT, type CliContext } from '../context.js';
import { formatDeploymentTable } from '../describe.js';

export interface StatusOptions {
  label?: string;
  pr?: string;
  agent?: string;
  id?: string;
}

export function defineStatus(program: Command): Command {
  return program
    .command('status')
    .description('list deployments, by label or agent')
    .option('--label <label>', 'preview label')
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--agent <name>', 'agent name')
    .option('--id <deployment>', 'one deployment');
}

export async function status(cli: CliContext, options: StatusOptions): Promise<number> {
  const platform = cli.platform();
  let deployments: Deployment[];
  if (options.id) deployments = [await platform.getDeployment(options.id, { signal: cli.signal })];
  else {
    const label = options.label || options.pr ? resolvePreviewLabel(options.label, { number: options.pr }, '--label', cli.labelRule()).label : undefined;
    if (!label && !options.agent) throw new InputError('give --label, --pr, --agent or --id', { field: 'status' });
    deployments = await platform.listDeployments({ previewLabel: label, agentName: options.agent }, { signal: cli.signal });
  }
  if (cli.options.json) cli.emitJson(deployments);
  else if (deployments.length === 0) cli.print('no deployments found');
  else cli.print(formatDeploymentTable(deployments));
  return EXIT.ok;
}
