/**
 * A repository as builds record it: `host/owner/repo` (the action sends the server URL without its
 * scheme, then owner and name). Hosts and names compare case-insensitively, as GitHub and Gitea do.
 */
export interface SourceRepo {
  host: string;
  owner: string;
  repo: string;
}

/** `github.com/Codertocat/Hello-World` from a repository's web address (`html_url`). */
export function sourceRepoFromWebUrl(htmlUrl: string): SourceRepo | undefined {
  let url: URL;
  try {
    url = new URL(htmlUrl);
  } catch {
    return undefined;
  }
  const [owner, repo] = url.pathname.split('/').filter(Boolean).slice(-2);
  if (!owner || !repo) return undefined;
  return { host: url.host.toLowerCase(), owner, repo: repo.replace(/\.git$/i, '') };
}

/** Parses a recorded `host/owner/repo`; tolerates a scheme and a `.git` suffix. */
export function parseSourceRepo(text: string | undefined): SourceRepo | undefined {
  if (!text) return undefined;
  const parts = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '').split('/');
  if (parts.length < 3 || parts.some((part) => !part)) return undefined;
  const owner = parts[parts.length - 2];
  const repo = parts[parts.length - 1].replace(/\.git$/i, '');
  // GitLab-style subgroups or a forge under a path prefix keep their extra segments in the host.
  const host = parts.slice(0, -2).join('/').toLowerCase();
  return { host, owner, repo };
}

export function formatSourceRepo(repo: SourceRepo): string {
  return `${repo.host}/${repo.owner}/${repo.repo}`;
}

export function sameSourceRepo(a: SourceRepo, b: SourceRepo): boolean {
  return formatSourceRepo(a).toLowerCase() === formatSourceRepo(b).toLowerCase();
}
