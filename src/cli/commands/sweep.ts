import type { Command } from 'commander';
import { forgeTokensFrom, sweepWithTokens } from '../../previews/sweep-tokens.js';
import { formatSweepReport } from '../../previews/sweep.js';
import { InputError } from '../../errors.js';
import { DEFAULT_LABEL_TEMPLATE, resolvePreviewLabel } from '../../pipeline/label.js';
import { registerSecret } from '../../secrets/redact.js';
import { EXIT, type CliContext } from '../context.js';

export interface SweepOptions {
  delete?: boolean;
  dryRun?: boolean;
  githubToken?: string;
  githubApiUrl?: string;
  giteaUrl?: string;
  giteaToken?: string;
  labelTemplate: string;
}

export function defineSweep(program: Command): Command {
  return program
    .command('sweep')
    .description("delete previews whose pull request is closed, asking each repository's forge (a dry run unless --delete)")
    .option('--delete', 'delete what the sweep finds (without it, only report)')
    .option('--dry-run', 'report only; the default')
    .option('--github-token <token>', 'GitHub token that can read pull requests (default GITHUB_TOKEN)')
    .option('--github-api-url <url>', 'GitHub API (default GITHUB_API_URL, else https://api.github.com)')
    .option('--gitea-url <url>', 'Gitea or Forgejo server (default GITEA_URL)')
    .option('--gitea-token <token>', 'Gitea token (default GITEA_TOKEN)')
    .option('--label-template <template>', 'label template of repositories without .github/agent-preview.yml', DEFAULT_LABEL_TEMPLATE);
}

export async function sweep(cli: CliContext, options: SweepOptions): Promise<number> {
  registerSecret(options.githubToken);
  registerSecret(options.giteaToken);
  if (options.delete && options.dryRun) throw new InputError('give --delete or --dry-run, not both', { field: '--delete' });
  resolvePreviewLabel(options.labelTemplate, { number: 1, branch: 'main', sha: '0000000' }, '--label-template');
  const tokens = forgeTokensFrom(options, cli.io.env);
  if (!tokens.github && !tokens.gitea) {
    throw new InputError('the sweep asks the forge whether each pull request is closed: set GITHUB_TOKEN (or --github-token), or GITEA_URL and GITEA_TOKEN', {
      field: '--github-token',
    });
  }
  const reporter = cli.reporter();
  const platform = cli.platform(reporter);
  const report = await sweepWithTokens(platform, tokens, {
    dryRun: !options.delete,
    defaultLabelTemplate: options.labelTemplate,
    signal: cli.signal,
    log: { info: (message) => reporter.info(message), warn: (message) => reporter.warn(message) },
  });
  reporter.flush();
  if (cli.options.json) cli.emitJson(report);
  else cli.print(formatSweepReport(report));
  return report.failed.length ? EXIT.failed : EXIT.ok;
}
