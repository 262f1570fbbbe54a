/**
 * The Gitea and Forgejo door. Their deliveries carry no GitHub App installation, so they are served
 * by a REST client pointed at the Gitea API with a token, and verified here: an HMAC-SHA256 of the
 * raw body with the webhook secret, hex in `X-Gitea-Signature` / `X-Forgejo-Signature`, or
 * `sha256=<hex>` in `X-Hub-Signature-256`, compared in constant time.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'probot';
import { fetch } from 'undici';
import { createForge, giteaApiUrl } from '../forge/client.js';
import { registerSecret } from '../secrets/redact.js';
import { DeliveryRefused, type AccessFor, type RepoAccess, type TeardownJob } from './deliveries.js';
import type { TeardownQueue } from './teardown-queue.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfigText, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import { BodyTooLargeError, isJsonContentType, readLimitedBody } from './request-body.js';
import { sourceRepoFromWebUrl } from '../pipeline/source-repo.js';

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
  const serverHost = new URL(options.url).host.toLowerCase();

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
    if (new URL(repository.htmlUrl).host.toLowerCase() !== serverHost) {
      log.warn({ htmlUrl: repository.htmlUrl }, `Gitea delivery refused: its repository is not on ${serverHost}`);
      return reply(res, 403, { error: `this endpoint serves repositories of ${serverHost} only` });
    }
    const base = { door: 'gitea' as const, deliveryId, repository };
    let job: TeardownJob;
    if (event === 'pull_request') {
      const pull = payload.pull_request as Json;
      const number = Number(pull.number ?? payload.number);
      if (!Number.isInteger(number) || number < 1) return reply(res, 400, { error: 'the delivery names no pull request number' });
      job = { ...base, event: 'pull_request.closed', number, headRef: pull.head?.ref, headSha: pull.head?.sha };
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
 * The Gitea door's access to a job's repository, with GITEA_TOKEN, for repositories of GITEA_URL's
 * host only. The pull request's state comes from `GET /repos/{owner}/{repo}/pulls/{index}` and a
 * branch's existence from `GET /repos/{owner}/{repo}/branches/{branch}` (404 when gone)
 * (go-gitea/gitea@e6ed472:routers/api/v1/repo/pull.go, routers/api/v1/repo/branch.go).
 */
export function giteaAccessFor(settings: GiteaSettings, defaultConfig: RepoConfig = DEFAULT_REPO_CONFIG, lifetime?: AbortSignal): AccessFor {
  const apiUrl = giteaApiUrl(settings.url);
  const serverHost = new URL(settings.url).host.toLowerCase();
  const forge = createForge({ kind: 'gitea', apiUrl, token: settings.token, lifetime });
  return async (job) => {
    const repo = sourceRepoFromWebUrl(job.repository.htmlUrl);
    if (!repo || new URL(job.repository.htmlUrl).host.toLowerCase() !== serverHost) {
      throw new DeliveryRefused(`the delivery names ${job.repository.htmlUrl}, which is not on ${serverHost}`);
    }
    const repoRef = { owner: job.repository.owner, repo: job.repository.name };
    const readFile = async (path: string, signal: AbortSignal) => readGiteaFile(apiUrl, settings.token, repoRef, path, signal);
    return {
      repo: { ...repo, owner: repoRef.owner, repo: repoRef.repo },
      repoRef,
      loadConfig: async (signal) => parseRepoConfigText(await readFile(REPO_CONFIG_PATH, signal), defaultConfig),
      readFile,
      pullRequestState: async (number, signal) => {
        try {
          return (await forge.getPullRequest({ ...repoRef, number }, signal)).state;
        } catch (err) {
          if ((err as { status?: number }).status === 404) throw new DeliveryRefused(`${repoRef.owner}/${repoRef.repo} has no pull request #${number} on ${serverHost}`);
          throw err;
        }
      },
      branchExists: (branch, signal) => forge.branchExists(repoRef, branch, signal),
      forge: async () => forge,
    } satisfies RepoAccess;
  };
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
