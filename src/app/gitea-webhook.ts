/**
 * The Gitea and Forgejo webhook door: POST /api/gitea/webhooks. A delivery is read (bounded), its
 * signature checked over the raw body with `@octokit/webhooks-methods` (Gitea signs as GitHub does:
 * an HMAC-SHA256 of the body with the webhook secret, hex in `X-Gitea-Signature` / `X-Forgejo-Signature`,
 * and `sha256=<hex>` in `X-Hub-Signature-256`; go-gitea/gitea@05a2257:services/webhook/deliver.go),
 * and handed to the router (`router.ts`) with Gitea's event name and delivery id. The answer (202,
 * or 200 for a duplicate or an event no handler wants) goes out once the handlers have queued their work.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import type { Logger } from 'probot';
import { registerSecret } from '../secrets/redact.js';
import type { AccessFor } from './deliveries.js';
import type { GiteaSettings } from './gitea.js';
import { BodyTooLargeError, isJsonContentType, readLimitedBody } from './request-body.js';
import type { DeliveryRouter } from './router.js';

export const GITEA_WEBHOOK_PATH = '/api/gitea/webhooks';

export interface GiteaWebhookOptions extends GiteaSettings {
  router: DeliveryRouter;
  /** The Gitea door's access to the repositories its deliveries name. */
  accessFor: AccessFor;
  log: Logger;
}

/** An answer that ends a delivery before the router. */
interface Refusal {
  status: number;
  body: Record<string, string>;
  headers?: Record<string, string>;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Handles POST /api/gitea/webhooks: verified deliveries go to the router; the rest are refused before it. */
export function giteaWebhookHandler(options: GiteaWebhookOptions): RequestHandler {
  if (!options.webhookSecret) throw new Error('the Gitea webhook needs a secret (GITEA_WEBHOOK_SECRET)');
  registerSecret(options.token);
  registerSecret(options.webhookSecret);

  return async (req, res) => {
    const { deliveryId, event } = giteaHeaders(req);
    const log = options.log.child({ id: deliveryId ?? randomUUID(), forge: 'gitea' });
    const body = await readDelivery(req, log);
    if (!Buffer.isBuffer(body)) return reply(res, body);
    if (!(await verifyGiteaSignature(options.webhookSecret, body, req.headers))) {
      log.warn('Gitea delivery refused: missing or wrong signature');
      return reply(res, { status: 401, body: { error: 'signature missing or does not match' } });
    }
    const payload = jsonObject(body);
    if (!payload) return reply(res, { status: 400, body: { error: 'the body is not a JSON object' } });
    if (!deliveryId || !event) return reply(res, { status: 400, body: { error: 'the delivery has no X-Gitea-Delivery and X-Gitea-Event (or X-Forgejo-) headers' } });
    const bodyDigest = createHash('sha256').update(body).digest('hex');
    const outcome = await refusing(() => options.router.receive({ door: 'gitea', id: deliveryId, name: event, payload, bodyDigest, log, accessFor: options.accessFor }));
    if (typeof outcome === 'object') return reply(res, outcome);
    if (outcome === 'ignored') log.debug({ event, action: payload.action }, 'Gitea delivery needs no work');
    if (outcome === 'queued') return reply(res, { status: 202, body: { status: 'accepted' } });
    return reply(res, { status: 200, body: { status: outcome } });
  };
}

/**
 * Gitea sends its hook task's UUID as `X-Gitea-Delivery` and its event as `X-Gitea-Event` (and the
 * same under the `X-Gogs-` and `X-GitHub-` names; go-gitea/gitea@05a2257:services/webhook/deliver.go);
 * Forgejo as `X-Forgejo-Delivery` and `X-Forgejo-Event`.
 */
function giteaHeaders(req: IncomingMessage): { deliveryId?: string; event?: string } {
  const first = (...names: string[]) => names.map((name) => headerOf(req, name)).find(Boolean);
  return {
    deliveryId: first('x-gitea-delivery', 'x-forgejo-delivery', 'x-github-delivery'),
    event: first('x-gitea-event', 'x-forgejo-event', 'x-gogs-event', 'x-github-event'),
  };
}

/** The raw body of a JSON POST, at most `MAX_WEBHOOK_BYTES`; or the refusal. */
async function readDelivery(req: IncomingMessage, log: Logger): Promise<Buffer | Refusal> {
  if (req.method !== 'POST') return { status: 405, body: { error: 'use POST' }, headers: { allow: 'POST' } };
  if (!isJsonContentType(req.headers['content-type'])) return { status: 415, body: { error: 'send application/json' } };
  try {
    return await readLimitedBody(req);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    log.warn({ error: err.message }, 'Gitea delivery refused: too large');
    return { status: 413, body: { error: err.message }, headers: { connection: 'close' } };
  }
}

/**
 * Checks a delivery's signature against the raw body. `verify` takes the body as text and signs its
 * UTF-8 bytes: the body's own for the UTF-8 JSON Gitea sends, so a body that is not UTF-8 does not verify.
 * The Gitea header decides when present; Forgejo's, then `X-Hub-Signature-256`, otherwise.
 */
export async function verifyGiteaSignature(secret: string, body: Buffer | string, headers: IncomingMessage['headers']): Promise<boolean> {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const given = (header('x-gitea-signature') ?? header('x-forgejo-signature') ?? header('x-hub-signature-256')?.replace(/^sha256=/i, ''))?.trim();
  if (!given || !/^[0-9a-f]{64}$/i.test(given)) return false;
  return verify(secret, typeof body === 'string' ? body : body.toString('utf8'), `sha256=${given.toLowerCase()}`).catch(() => false);
}

function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const payload: unknown = JSON.parse(body.toString('utf8'));
    return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The router's outcome, or the refusal a handler's client error (`BadDelivery`, status 400) asks for; other errors go on (500). */
async function refusing<T>(receive: () => Promise<T>): Promise<T | Refusal> {
  try {
    return await receive();
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return { status, body: { error: (err as Error).message } };
    throw err;
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first || undefined;
}

function reply(res: ServerResponse, answer: Refusal): void {
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}
