/**
 * The Gitea and Forgejo door. Their deliveries carry no GitHub App installation, so they are served
 * by a REST client pointed at the Gitea API with a token, and verified here: an HMAC-SHA256 of the
 * raw body with the webhook secret, hex in `X-Gitea-Signature` / `X-Forgejo-Signature`, or
 * `sha256=<hex>` in `X-Hub-Signature-256`, compared in constant time.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'probot';
import type { Forge } from '../forge/forge.js';
import { RestForge } from '../forge/rest.js';
import { registerSecret } from '../secrets/redact.js';
import type { BackgroundQueue } from './background.js';
import { branchDeletedTask, pullRequestClosedTask, type PlatformFor, type RepoAccess } from './deliveries.js';
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
  queue: BackgroundQueue;
  platformFor: PlatformFor;
  log: Logger;
  /** What a repository without `.github/agent-preview.yml` gets. */
  defaultConfig?: RepoConfig;
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
  const apiUrl = `${options.url.replace(/\/+$/, '')}/api/v1`;
  const forge = new RestForge({ kind: 'gitea', apiUrl, token: options.token });

  return async (req, res) => {
    const deliveryId = headerOf(req, 'x-gitea-delivery') ?? headerOf(req, 'x-forgejo-delivery') ?? headerOf(req, 'x-github-delivery') ?? randomUUID();
    const log = options.log.child({ id: deliveryId, forge: 'gitea' });
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
    const access = payload.repository ? giteaAccess(payload.repository as Json, apiUrl, options.token, forge, options.defaultConfig ?? DEFAULT_REPO_CONFIG) : undefined;
    if (event === 'pull_request' && payload.action === 'closed' && access && payload.pull_request) {
      const pull = payload.pull_request as Json;
      const number = Number(pull.number ?? payload.number);
      options.queue.enqueue(
        pullRequestClosedTask({ deliveryId, log, access, number, headRef: pull.head?.ref, headSha: pull.head?.sha, platformFor: options.platformFor }),
      );
      log.info({ repo: access.repoRef, pull: number }, `pull request #${number} closed; teardown queued`);
      return reply(res, 202, { status: 'accepted' });
    }
    if (event === 'delete' && payload.ref_type === 'branch' && typeof payload.ref === 'string' && access) {
      options.queue.enqueue(branchDeletedTask({ deliveryId, log, access, branch: payload.ref, platformFor: options.platformFor }));
      return reply(res, 202, { status: 'accepted' });
    }
    log.debug({ event, action: payload.action }, 'Gitea delivery needs no work');
    return reply(res, 200, { status: 'ignored' });
  };
}

function giteaAccess(repository: Json, apiUrl: string, token: string, forge: Forge, defaultConfig: RepoConfig): RepoAccess | undefined {
  const owner = repository.owner?.login ?? repository.owner?.username;
  const name = repository.name;
  const repo = typeof repository.html_url === 'string' ? sourceRepoFromWebUrl(repository.html_url) : undefined;
  if (!repo || typeof owner !== 'string' || typeof name !== 'string') return undefined;
  const repoRef = { owner, repo: name };
  const readFile = async (path: string, signal: AbortSignal) => readGiteaFile(apiUrl, token, repoRef, path, signal);
  return {
    repo: { ...repo, owner, repo: name },
    repoRef,
    loadConfig: async (signal) => parseRepoConfigText(await readFile(REPO_CONFIG_PATH, signal), defaultConfig),
    readFile,
    forge: async () => forge,
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
