import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRunOptions, runAgentsCommand, type PreviewOptions, type RunOptions } from './run.js';

export type DeployOptions = RunOptions & PreviewOptions;

export function defineDeploy(program: Command): Command {
  return addRunOptions(program.command('deploy').description('build and deploy agents, as a preview or for real'))
    .option('--image <name:tag>', "pushed image to deploy on platforms that do not build (mutx, astropods); {agent} is filled in (default the manifest's image)")
    .option(
      '--redeploy <auto|always>',
      'auto: keep a live preview that already is what this deploy would make (needs a repository: --repo or the git remote origin); always: deploy again',
      'auto',
    )
    .option('--preview', 'deploy a preview (implied by --label and --pr)')
    .option('--label <label>', 'preview label (default pr-<number>)')
    .option('--pr <number>', 'pull request number for the default label')
    .option('--ttl <duration>', 'how long the preview lives', '8h')
    .option('-e, --environment <name>', 'entry of environments.yaml to deploy with')
    .option('--no-wait', 'return once the deployment is created')
    .option('--preview-url <template>', 'URL template for platforms whose deployments carry no URL');
}

/** A preview when a label is given (`--preview`, `--label`, `--pr`), otherwise a real deploy. */
export function deploy(cli: CliContext, options: DeployOptions): Promise<number> {
  return runAgentsCommand(cli, options.preview || options.label || options.pr ? 'preview' : 'deploy', options);
}
