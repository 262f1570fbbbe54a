import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'probot';
import { redact } from '../secrets/redact.js';
import type { Doors } from './doors.js';
import { GITHUB_WEBHOOK_PATH, githubWebhookHandler } from './github-webhook.js';
import { GITEA_WEBHOOK_PATH, giteaWebhookHandler } from './gitea-webhook.js';
import type { DeliveryRouter } from './router.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface RouteParts {
  doors: Pick<Doors, 'github' | 'gitea'>;
  router: DeliveryRouter;
  log: Logger;
}

/**
 * The app's HTTP routes: GET /healthz, each open door's webhook (GitHub on /api/github/webhooks,
 * Gitea on /api/gitea/webhooks), 404 for anything else. A request that fails unexpectedly is logged
 * and answered 500, so the forge redelivers it.
 */
export async function appRoutes({ doors, router, log }: RouteParts): Promise<RequestHandler> {
  const webhooks = new Map<string, RequestHandler>();
  if (doors.github) webhooks.set(GITHUB_WEBHOOK_PATH, await githubWebhookHandler(doors.github.probot, router, doors.github.access));
  if (doors.gitea) webhooks.set(GITEA_WEBHOOK_PATH, giteaWebhookHandler({ ...doors.gitea.settings, router, accessFor: doors.gitea.access, log }));

  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://app').pathname.replace(/\/+$/, '') || '/';
    try {
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return json(res, 200, { status: 'ok' });
      const webhook = webhooks.get(path);
      if (webhook) return await webhook(req, res);
      json(res, 404, { error: 'not found' });
    } catch (err) {
      log.error({ error: redact((err as Error).message), path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
