import type { CommandQueue } from '../commands/queue.js';
import { handleCloses } from './closes.js';
import { handleCommands } from './commands.js';
import { DeliveryRouter } from './router.js';
import type { TeardownQueue } from './teardown-queue.js';

/** What the handlers work with; one app's, shared by both doors. */
export interface HandlerParts {
  queue: TeardownQueue;
  /** Where `/preview` commands wait (`commands.ts`); without it, comments are not listened to. */
  commands?: CommandQueue;
}

/**
 * The router with every event the app handles, each registered once for both doors (GitHub through
 * Probot, Gitea through its own door). Another event is one more line here: docs/development.md,
 * "An event handler for both doors".
 */
export function appRouter(parts: HandlerParts): DeliveryRouter {
  const router = new DeliveryRouter();
  handleCloses(router, parts.queue);
  if (parts.commands) handleCommands(router, parts.commands);
  return router;
}
