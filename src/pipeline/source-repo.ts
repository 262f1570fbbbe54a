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

/**
 * The repository a git remote URL names (`git remote get-url origin`), named as the action names it
 * from its event's `repository.html_url` (`sourceRepoFromWebUrl`), so a checkout finds the previews
 * the action made for it. The forms are those the Agentex SDK reads for its own `source_repo`
 * (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:
 * src/agentex/lib/utils/build_provenance.py `normalize_remote`): `https://[user[:token]@]host[:port]/path`,
 * `ssh://[user@]host[:port]/path`, `git://host/path` and scp-like `[user@]host:path`, with
 * credentials and a `.git` suffix dropped. Unlike the SDK, the port of an ssh or git URL is dropped
 * too: it is the SSH port, not part of the web address the action sees (an http(s) port is kept,
 * as html_url keeps it). A Gitea under a sub-path is found from its http(s) remote only: an scp-like
 * remote does not say the sub-path. Local paths and file:// remotes name no repository.
 */
export function sourceRepoFromRemote(remote: string | undefined): SourceRepo | undefined {
  const text = remote?.trim();
  if (!text) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return sourceRepoFromWebUrl(text);
  if (scheme === 'ssh' || scheme === 'git' || scheme === 'git+ssh' || scheme === 'ssh+git') {
    let url: URL;
    try {
      url = new URL(`ssh${text.slice(scheme.length)}`);
    } catch {
      return undefined;
    }
    return parseSourceRepo(`${url.hostname}${url.pathname}`);
  }
  if (scheme) return undefined;
  // scp-like: no slash before the first colon, and not a Windows drive (git's own rule for telling it
  // from a local path: url_is_local_not_ssh, in connect.c, url.c in newer git; the same file's
  // url_get_scheme names the ssh, git, git+ssh and ssh+git schemes read above).
  const colon = text.indexOf(':');
  if (colon <= 0 || text.slice(0, colon).includes('/') || /^[a-z]:[\\/]/i.test(text)) return undefined;
  const host = text.slice(0, colon).replace(/^[^@]*@/, '');
  return parseSourceRepo(`${host}/${text.slice(colon + 1).replace(/^\/+/, '')}`);
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
