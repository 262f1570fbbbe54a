/**
 * The Gitea and Forgejo door's access to repositories: a REST client pointed at the Gitea API with
 * GITEA_TOKEN (their deliveries carry no GitHub App installation). Deliveries come in through
 * `gitea-webhook.ts`.
 */
import { fetch } from 'undici';
import { createForge, giteaApiUrl } from '../forge/client.js';
import { DeliveryRefused, type AccessFor, type RepoAccess } from './deliveries.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfigText, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import { formatSourceRepo, sameSourceRepo, sourceRepoFromWebUrl, type SourceRepo } from '../pipeline/source-repo.js';

export interface GiteaSettings {
  /** The Gitea or Forgejo server, e.g. https://gitea.example (the API is at /api/v1). */
  url: string;
  token: string;
  webhookSecret: string;
}

type Json = Record<string, any>;

/**
 * The Gitea door's access to a delivered repository, with GITEA_TOKEN. Which repository it is comes from
 * GITEA_URL's own API, not from the delivery: `GET /repos/{owner}/{repo}` answers its `html_url`,
 * which Gitea builds from its ROOT_URL (`repo.HTMLURL()`, go-gitea/gitea@0365aa63:services/convert/repository.go;
 * `MakeAbsoluteURL` uses ROOT_URL unless a proxy in front sends X-Forwarded-Proto,
 * go-gitea/gitea@c97b31bd:modules/httplib/url.go), exactly as its webhooks and its Actions events do.
 * A delivery naming another `html_url` is refused: another Gitea under the same host name (a sibling
 * sub-path) is not this one. A Gitea the app reaches at another address than its ROOT_URL (an
 * in-cluster name, a sub-path behind a proxy) is served, and the identity is the one the action
 * recorded. The pull request's state comes from `GET /repos/{owner}/{repo}/pulls/{index}`, a branch's
 * existence from `GET /repos/{owner}/{repo}/branches/{branch}` (404 when gone) and the open pull
 * requests from `GET /repos/{owner}/{repo}/pulls?state=open`, which takes no head filter
 * (go-gitea/gitea@e6ed472:routers/api/v1/repo/pull.go, routers/api/v1/repo/branch.go).
 */
export function giteaAccessFor(settings: GiteaSettings, defaultConfig: RepoConfig = DEFAULT_REPO_CONFIG, lifetime?: AbortSignal): AccessFor {
  const apiUrl = giteaApiUrl(settings.url);
  const forge = createForge({ kind: 'gitea', apiUrl, token: settings.token, lifetime });
  return async (delivered, signal) => {
    const repoRef = { owner: delivered.repository.owner, repo: delivered.repository.name };
    const repo = await giteaIdentity(apiUrl, settings.token, repoRef, signal);
    const named = sourceRepoFromWebUrl(delivered.repository.htmlUrl);
    if (!repo || !named || !sameSourceRepo(repo, named)) {
      throw new DeliveryRefused(
        `the delivery names ${delivered.repository.htmlUrl}, but ${settings.url} serves ${repoRef.owner}/${repoRef.repo} ${repo ? `at ${formatSourceRepo(repo)}` : 'not at all'}`,
      );
    }
    const readFile = async (path: string, fileSignal: AbortSignal) => readGiteaFile(apiUrl, settings.token, repoRef, path, fileSignal);
    return {
      repo,
      repoRef,
      loadConfig: async (configSignal) => parseRepoConfigText(await readFile(REPO_CONFIG_PATH, configSignal), defaultConfig),
      readFile,
      pullRequest: async (number, pullSignal) => {
        try {
          const pull = await forge.getPullRequest({ ...repoRef, number }, pullSignal);
          return { state: pull.state, headRef: pull.headRef, headSha: pull.headSha };
        } catch (err) {
          if ((err as { status?: number }).status === 404) throw new DeliveryRefused(`${repoRef.owner}/${repoRef.repo} has no pull request #${number} on ${settings.url}`);
          throw err;
        }
      },
      branchExists: (branch, branchSignal) => forge.branchExists(repoRef, branch, branchSignal),
      openPullRequestsOn: (branch, pullsSignal) => openGiteaPullRequestsOn(apiUrl, settings.token, repoRef, branch, pullsSignal),
      forge: async () => forge,
    } satisfies RepoAccess;
  };
}

/** The repository as GITEA_URL's Gitea names it (its `html_url`); undefined when it does not serve one of that name. */
export async function giteaIdentity(apiUrl: string, token: string, repo: { owner: string; repo: string }, signal: AbortSignal): Promise<SourceRepo | undefined> {
  const response = await giteaGet(apiUrl, token, `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`, signal);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`reading ${repo.owner}/${repo.repo} from Gitea failed with HTTP ${response.status}`);
  }
  const htmlUrl = ((await response.json()) as Json)?.html_url;
  return typeof htmlUrl === 'string' ? sourceRepoFromWebUrl(htmlUrl) : undefined;
}

/**
 * For the sweep: whether GITEA_URL's Gitea is where a recorded repository lives, i.e. its API names
 * the repository with exactly that address (ROOT_URL can differ from GITEA_URL, and two Giteas can
 * share a host name). Each repository is asked once until `clear()` (once per sweep).
 */
export function giteaServesRepo(settings: GiteaSettings, lifetime: AbortSignal): { serves(repo: SourceRepo): Promise<boolean>; clear(): void } {
  const answers = new Map<string, Promise<boolean>>();
  const apiUrl = giteaApiUrl(settings.url);
  return {
    serves(repo) {
      const key = formatSourceRepo(repo);
      let answer = answers.get(key);
      if (!answer) {
        const signal = AbortSignal.any([lifetime, AbortSignal.timeout(30_000)]);
        answer = giteaIdentity(apiUrl, settings.token, { owner: repo.owner, repo: repo.repo }, signal).then((identity) => Boolean(identity && sameSourceRepo(identity, repo)));
        answers.set(key, answer);
      }
      return answer;
    },
    clear: () => answers.clear(),
  };
}

/** Open pull requests whose head is this branch of this repository, across every page. */
async function openGiteaPullRequestsOn(apiUrl: string, token: string, repo: { owner: string; repo: string }, branch: string, signal: AbortSignal): Promise<number[]> {
  const numbers: number[] = [];
  const fullName = `${repo.owner}/${repo.repo}`.toLowerCase();
  for (let page = 1; page <= MAX_PAGES; page++) {
    const path = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/pulls?state=open&limit=${PAGE_LIMIT}&page=${page}`;
    const response = await giteaGet(apiUrl, token, path, signal);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`listing the open pull requests of ${fullName} failed with HTTP ${response.status}`);
    }
    const pulls = (await response.json()) as Json[];
    for (const pull of Array.isArray(pulls) ? pulls : []) {
      const head = pull?.head ?? {};
      const headRepo = String(head.repo?.full_name ?? fullName).toLowerCase();
      if (head.ref === branch && headRepo === fullName) numbers.push(Number(pull.number));
    }
    if (!Array.isArray(pulls) || pulls.length < PAGE_LIMIT) break;
  }
  return numbers;
}

/** Gitea's page size cap is 50 by default (`[api] MAX_RESPONSE_ITEMS`); MAX_PAGES stops a runaway. */
const PAGE_LIMIT = 50;
const MAX_PAGES = 100;

function giteaGet(apiUrl: string, token: string, path: string, signal: AbortSignal) {
  return fetch(`${apiUrl}${path}`, {
    headers: { authorization: `token ${token}`, accept: 'application/json', 'user-agent': 'agent-preview' },
    signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
  });
}

/** A file of the default branch through Gitea's raw endpoint; undefined when it is not there. */
export async function readGiteaFile(apiUrl: string, token: string, repo: { owner: string; repo: string }, path: string, signal: AbortSignal): Promise<string | undefined> {
  const encodedPath = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  const response = await fetch(`${apiUrl}/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}/raw/${encodedPath}`, {
    headers: { authorization: `token ${token}`, 'user-agent': 'agent-preview' },
    signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`reading ${path} from ${repo.owner}/${repo.repo} failed with HTTP ${response.status}`);
  }
  return response.text();
}
