import type { IncomingMessage, ServerResponse } from 'node:http';
import { createNodeMiddleware, type Probot } from 'probot';
import type { AccessFor } from './deliveries.js';
import { githubDoorApp } from './github.js';
import { BodyTooLargeError, readLimitedBody } from './request-body.js';
import type { DeliveryRouter } from './router.js';

export const GITHUB_WEBHOOK_PATH = '/api/github/webhooks';

/**
 * POST /api/github/webhooks: Probot's middleware (signature, content type, required headers, JSON;
 * `@octokit/webhooks`' node middleware) serving `githubDoorApp`, behind our body limit: Probot
 * reads a body without one, so it is read here, bounded, and handed over as text.
 */
export async function githubWebhookHandler(probot: Probot, router: DeliveryRouter, accessFor: AccessFor): Promise<(req: IncomingMessage, res: ServerResponse) => Promise<void>> {
  const middleware = await createNodeMiddleware(githubDoorApp(router, accessFor), { probot, webhooksPath: GITHUB_WEBHOOK_PATH });
  return async (req, res) => {
    if (req.method === 'POST') {
      try {
        req.body = (await readLimitedBody(req)).toString('utf8');
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: err.message }));
        return;
      }
    }
    await middleware(req, res);
  };
}
