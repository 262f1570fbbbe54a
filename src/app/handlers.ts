import { handleCloses } from './closes.js';
import { DeliveryRouter } from './router.js';
import type { TeardownQueue } from './teardown-queue.js';

/** What the handlers work with; one app's, shared by both doors. */
export interface HandlerParts {
  queue: TeardownQueue;
}

/**
 * The router with every event the app handles, each registered once for both doors (GitHub through
 * Probot, Gitea through its own door). Another event is one more line here: docs/development.md,
 * "An event handler for both doors".
 */
export function appRouter(parts: HandlerParts): DeliveryRouter {
  const router = new DeliveryRouter();
  handleCloses(router, parts.queue);
  return router;
}
