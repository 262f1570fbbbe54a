/**
 * The sweep run once from anywhere (a laptop, a cron job, CI) with plain tokens instead of the
 * GitHub App: `agent-preview sweep`. It asks the forge a repository was recorded on (GitHub with
 * `GITHUB_TOKEN`, Gitea or Forgejo with `GITEA_URL` and `GITEA_TOKEN`) whether each preview's pull
 * request is still open. Repositories on hosts it has no token for are kept and reported.
 */
import { InputError } from '../errors.js';
import { createForge, giteaApiUrl } from '../forge/client.js';
import { writeSpacingFromEnv, type WriteSpacing } from '../forge/throttle.js';
import type { GitHubForge } from '../forge/github.js';
import type { Platform } from '../platforms/platform.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import { registerSecret } from '../secrets/redact.js';
import { parseRepoConfigText, REPO_CONFIG_PATH } from './repo-config.js';
import { sweepPreviews, type SweepLog, type SweepReport } from './sweep.js';

export interface ForgeTokens {
  github?: { apiUrl: string; host: string; token: string };
  gitea?: { apiUrl: string; host: string; token: string };
  /** AGENT_PREVIEW_WRITE_SPACING, for GitHub's writes. */
  writeSpacing?: WriteSpacing;
}

/** Tokens from flags, else the environment (GITHUB_TOKEN, GITHUB_API_URL, GITHUB_SERVER_URL, GITEA_URL, GITEA_TOKEN). */
export function forgeTokensFrom(flags: { githubToken?: string; githubApiUrl?: string; giteaUrl?: string; giteaToken?: string }, env: NodeJS.ProcessEnv): ForgeTokens {
  const tokens: ForgeTokens = { writeSpacing: writeSpacingFromEnv(env) };
  const githubToken = flags.githubToken ?? env.GITHUB_TOKEN ?? env.GH_TOKEN;
  if (githubToken) {
    const apiUrl = checkUrl(flags.githubApiUrl ?? env.GITHUB_API_URL ?? 'https://api.github.com', '--github-api-url');
    // github.com's API lives on api.github.com; GHES serves it under /api/v3 of its own host.
    const host = env.GITHUB_SERVER_URL ? new URL(checkUrl(env.GITHUB_SERVER_URL, 'GITHUB_SERVER_URL')).host : new URL(apiUrl).host.replace(/^api\.github\.com$/, 'github.com');
    tokens.github = { apiUrl: apiUrl.replace(/\/+$/, ''), host: host.toLowerCase(), token: githubToken };
  }
  const giteaUrl = flags.giteaUrl ?? env.GITEA_URL;
  const giteaToken = flags.giteaToken ?? env.GITEA_TOKEN;
  if (giteaUrl || giteaToken) {
    if (!giteaUrl || !giteaToken)
      throw new InputError('Gitea needs both a URL and a token (--gitea-url and --gitea-token, or GITEA_URL and GITEA_TOKEN)', {
        field: giteaUrl ? '--gitea-token' : '--gitea-url',
      });
    const url = checkUrl(giteaUrl, '--gitea-url').replace(/\/+$/, '');
    tokens.gitea = { apiUrl: giteaApiUrl(url), host: new URL(url).host.toLowerCase(), token: giteaToken };
  }
  for (const forge of [tokens.github, tokens.gitea]) registerSecret(forge?.token);
  return tokens;
}

export interface TokenSweepOptions {
  dryRun: boolean;
  /** The label template of repositories without `.github/agent-preview.yml`. */
  defaultLabelTemplate?: string;
  log?: SweepLog;
  signal?: AbortSignal;
}

export function sweepWithTokens(platform: Platform, tokens: ForgeTokens, options: TokenSweepOptions): Promise<SweepReport> {
  const forges = new Map<string, GitHubForge>();
  const forgeFor = async (repo: SourceRepo): Promise<GitHubForge | undefined> => {
    const host = repo.host.toLowerCase();
    const settings =
      tokens.github?.host === host ? { kind: 'github' as const, ...tokens.github } : tokens.gitea?.host === host ? { kind: 'gitea' as const, ...tokens.gitea } : undefined;
    if (!settings) return undefined;
    let forge = forges.get(host);
    if (!forge) {
      forge = createForge({ kind: settings.kind, apiUrl: settings.apiUrl, token: settings.token, writeSpacing: tokens.writeSpacing });
      forges.set(host, forge);
    }
    return forge;
  };
  return sweepPreviews({
    platform,
    forgeFor,
    dryRun: options.dryRun,
    log: options.log,
    signal: options.signal,
    async labelTemplateFor(repo) {
      const forge = await forgeFor(repo);
      const text = await forge?.readFile(repo, REPO_CONFIG_PATH, options.signal);
      return text === undefined ? options.defaultLabelTemplate : parseRepoConfigText(text).labelTemplate;
    },
  });
}

function checkUrl(text: string, field: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text;
  } catch {
    // reported below
  }
  throw new InputError(`"${text}" is not an http(s) URL`, { field });
}
