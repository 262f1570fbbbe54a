/**
 * A repository, named one way everywhere: `host/owner/repo`, the host without its scheme, a path
 * prefix kept (a Gitea served under `https://example.com/git/` is `example.com/git/owner/repo`),
 * and everything lowercased, because GitHub and Gitea compare hosts, owners and names
 * case-insensitively. The action, the app, the CLI and the sweep all go through here, whatever
 * forge or runner reported the repository, so that a preview recorded by one is found by the others.
 */
export interface SourceRepo {
  /** Lowercased host, with the forge's path prefix when it has one. */
  host: string;
  owner: string;
  repo: string;
}

/** `github.com/codertocat/hello-world` from a repository's web address (`html_url`). */
export function sourceRepoFromWebUrl(htmlUrl: string): SourceRepo | undefined {
  let url: URL;
  try {
    url = new URL(htmlUrl);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol)) return undefined;
  return parseSourceRepo(`${url.host}${url.pathname}`);
}

/** Parses a recorded `host/owner/repo`; tolerates a scheme, credentials-free URLs and a `.git` suffix. */
export function parseSourceRepo(text: string | undefined): SourceRepo | undefined {
  if (!text) return undefined;
  const parts = text
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '')
    .split('/');
  if (parts.length < 3 || parts.some((part) => !part)) return undefined;
  const owner = parts[parts.length - 2].toLowerCase();
  const repo = parts[parts.length - 1].replace(/\.git$/i, '').toLowerCase();
  // GitLab-style subgroups or a forge under a path prefix keep their extra segments in the host.
  const host = parts.slice(0, -2).join('/').toLowerCase();
  if (!repo) return undefined;
  return { host, owner, repo };
}

/**
 * The repository of a workflow run. The event payload's `repository.html_url` is built by the forge
 * from its own address (Gitea's `ROOT_URL`), which is what webhooks carry too; the runner's
 * `GITHUB_SERVER_URL` is the address the runner registered with and can differ (act_runner), so it
 * is only the fallback. Source: /work/shared/PLATFORMS.md, "Gitea / Forgejo Actions".
 */
export function sourceRepoOfRun(htmlUrl: unknown, serverUrl: string, owner: string, repo: string): SourceRepo | undefined {
  const fromPayload = typeof htmlUrl === 'string' ? sourceRepoFromWebUrl(htmlUrl) : undefined;
  if (fromPayload && fromPayload.owner === owner.toLowerCase() && fromPayload.repo === repo.toLowerCase()) return fromPayload;
  return parseSourceRepo(`${serverUrl}/${owner}/${repo}`);
}

export function formatSourceRepo(repo: SourceRepo): string {
  return `${repo.host}/${repo.owner}/${repo.repo}`.toLowerCase();
}

export function sameSourceRepo(a: SourceRepo, b: SourceRepo): boolean {
  return formatSourceRepo(a) === formatSourceRepo(b);
}
