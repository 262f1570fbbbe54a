/**
 * The Gitea and Forgejo door. Their deliveries carry no GitHub App installation, so they are served
 * by a REST client pointed at the Gitea API with a token, and verified here: an HMAC-SHA256 of the
 * raw body with the webhook secret, hex in `X-Gitea-Signature` / `X-Forgejo-Signature`, or
 * `sha256=<hex>` in `X-Hub-Signature-256`, compared in constant time.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'probot';
import { fetch } from 'undici';
import { createForge, giteaApiUrl } from '../forge/client.js';
import { registerSecret } from '../secrets/redact.js';
import { DeliveryRefused, type AccessFor, type RepoAccess, type TeardownJob } from './deliveries.js';
import type { TeardownQueue } from './teardown-queue.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfigText, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import { BodyTooLargeError, isJsonContentType, readLimitedBody } from './request-body.js';
import { formatSourceRepo, sameSourceRepo, sourceRepoFromWebUrl, type SourceRepo } from '../pipeline/source-repo.js';

export const GITEA_WEBHOOK_PATH = '/api/gitea/webhooks';

export interface GiteaSettings {
  /** The Gitea or Forgejo server, e.g. https://gitea.example (the API is at /api/v1). */
  url: string;
  token: string;
  webhookSecret: string;
}

export interface GiteaHandlerOptions extends GiteaSettings {
  queue: TeardownQueue;
  log: Logger;
}

type Json = Record<string, any>;

/** Checks a delivery's signature against the raw body. */
export function verifyGiteaSignature(secret: string, body: Buffer, headers: IncomingMessage['headers']): boolean {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const given = header('x-gitea-signature') ?? header('x-forgejo-signature') ?? header('x-hub-signature-256')?.replace(/^sha256=/i, '');
  if (!given || !/^[0-9a-f]{64}$/i.test(given.trim())) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given.trim(), 'hex'));
}

/** Handles POST /api/gitea/webhooks; answers 202 once a delivery is verified and its work queued. */
export function giteaWebhookHandler(options: GiteaHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  if (!options.webhookSecret) throw new Error('the Gitea webhook needs a secret (GITEA_WEBHOOK_SECRET)');
  registerSecret(options.token);
  registerSecret(options.webhookSecret);

  return async (req, res) => {
    // Gitea sends its hook task's UUID as X-Gitea-Delivery (and the same as X-Gogs-/X-GitHub-Delivery);
    // Forgejo as X-Forgejo-Delivery (go-gitea/gitea@05a2257:services/webhook/deliver.go).
    const deliveryId = headerOf(req, 'x-gitea-delivery') ?? headerOf(req, 'x-forgejo-delivery') ?? headerOf(req, 'x-github-delivery');
    const log = options.log.child({ id: deliveryId ?? randomUUID(), forge: 'gitea' });
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' }, { allow: 'POST' });
    if (!isJsonContentType(req.headers['content-type'])) return reply(res, 415, { error: 'send application/json' });
    let body: Buffer;
    try {
      body = await readLimitedBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        log.warn({ error: err.message }, 'Gitea delivery refused: too large');
        return reply(res, 413, { error: err.message }, { connection: 'close' });
      }
      throw err;
    }
    if (!verifyGiteaSignature(options.webhookSecret, body, req.headers)) {
      log.warn('Gitea delivery refused: missing or wrong signature');
      return reply(res, 401, { error: 'signature missing or does not match' });
    }
    let payload: Json;
    try {
      payload = JSON.parse(body.toString('utf8')) as Json;
      if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('not an object');
    } catch {
      return reply(res, 400, { error: 'the body is not a JSON object' });
    }
    const event = headerOf(req, 'x-gitea-event') ?? headerOf(req, 'x-forgejo-event') ?? headerOf(req, 'x-gogs-event') ?? headerOf(req, 'x-github-event');
    const wanted =
      (event === 'pull_request' && payload.action === 'closed' && payload.pull_request) || (event === 'delete' && payload.ref_type === 'branch' && typeof payload.ref === 'string');
    if (!wanted) {
      log.debug({ event, action: payload.action }, 'Gitea delivery needs no work');
      return reply(res, 200, { status: 'ignored' });
    }
    if (!deliveryId) return reply(res, 400, { error: 'the delivery has no X-Gitea-Delivery (or X-Forgejo-Delivery) header' });
    const repository = repositoryOf(payload.repository);
    if (!repository) return reply(res, 400, { error: 'the delivery names no repository (owner, name and html_url)' });
    // Whether GITEA_URL's Gitea serves this repository under this address is asked of its API when
    // the job runs (`giteaAccessFor`): a host name alone cannot tell two Giteas under one host apart.
    const base = { door: 'gitea' as const, deliveryId, bodyDigest: createHash('sha256').update(body).digest('hex'), repository };
    let job: TeardownJob;
    if (event === 'pull_request') {
      const pull = payload.pull_request as Json;
      const number = Number(pull.number ?? payload.number);
      if (!Number.isInteger(number) || number < 1) return reply(res, 400, { error: 'the delivery names no pull request number' });
      job = { ...base, event: 'pull_request.closed', number };
    } else {
      job = { ...base, event: 'branch.deleted', branch: payload.ref as string };
    }
    const outcome = await options.queue.enqueue(job, log);
    if (outcome === 'duplicate') {
      log.info(`delivery ${deliveryId} was already received; ignored`);
      return reply(res, 200, { status: 'duplicate' });
    }
    log.info(
      { repo: `${repository.owner}/${repository.name}`, event: job.event },
      `${job.event === 'pull_request.closed' ? `pull request #${job.number} closed` : `branch ${job.branch} deleted`}; teardown queued`,
    );
    return reply(res, 202, { status: 'accepted' });
  };
}

function repositoryOf(repository: Json | undefined): TeardownJob['repository'] | undefined {
  const owner = repository?.owner?.login ?? repository?.owner?.username;
  const name = repository?.name;
  const htmlUrl = repository?.html_url;
  if (typeof owner !== 'string' || typeof name !== 'string' || typeof htmlUrl !== 'string' || !URL.canParse(htmlUrl)) return undefined;
  return { owner, name, htmlUrl };
}

/**
 * The Gitea door's access to a job's repository, with GITEA_TOKEN. Which repository it is comes from
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
  return async (job, signal) => {
    const repoRef = { owner: job.repository.owner, repo: job.repository.name };
    const repo = await giteaIdentity(apiUrl, settings.token, repoRef, signal);
    const named = sourceRepoFromWebUrl(job.repository.htmlUrl);
    if (!repo || !named || !sameSourceRepo(repo, named)) {
      throw new DeliveryRefused(
        `the delivery names ${job.repository.htmlUrl}, but ${settings.url} serves ${repoRef.owner}/${repoRef.repo} ${repo ? `at ${formatSourceRepo(repo)}` : 'not at all'}`,
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

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first || undefined;
}

function reply(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
