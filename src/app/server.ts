import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'probot';
import type { PlatformSettings } from '../platforms/index.js';
import type { SweepReport } from '../previews/sweep.js';
import { openAppLog } from './app-log.js';
import type { BackgroundRetry } from './background.js';
import type { PlatformFor } from './deliveries.js';
import { openDoors, type DoorSettings } from './doors.js';
import { openCommands } from './commands.js';
import type { CommandTiming } from '../commands/context.js';
import { appRouter } from './handlers.js';
import { openQueue } from './queue.js';
import { appPlatforms } from './repo-platform.js';
import { appRoutes } from './routes.js';
import { stopApp } from './shutdown.js';
import { startSweeper } from './sweeper.js';

export { GITHUB_WEBHOOK_PATH } from './github-webhook.js';
export { GITEA_WEBHOOK_PATH } from './gitea-webhook.js';

/** The doors' settings (`DoorSettings`: forge credentials, webhook secrets, the default label template, write spacing) and the rest of the app's. */
export interface AppOptions extends DoorSettings {
  platformSettings: PlatformSettings;
  /** Builds the platform client for a repository's `platform` option; from `platformSettings` unless given. */
  platformFor?: PlatformFor;
  env?: NodeJS.ProcessEnv;
  /** Where JSON log lines go (stdout unless given); every line is redacted first. */
  logStream?: { write(line: string): unknown };
  logLevel?: string;
  retry?: Partial<BackgroundRetry>;
  /** How long a stopping server keeps working on acknowledged teardowns (TEARDOWN_GRACE, default 25 s). */
  teardownGraceMs?: number;
  /**
   * Redis (REDIS_URL): teardowns become durable BullMQ jobs shared by every replica, and Probot's
   * throttling keeps its limiters there (Bottleneck clustering).
   */
  redisUrl?: string;
  /** With Redis: how long a teardown whose replica died waits before another takes it over (TEARDOWN_TAKEOVER, default 30 s). */
  takeoverMs?: number;
  /** Found while reading the settings (a short webhook secret, say); logged at start. */
  warnings?: string[];
  /** Runs the sweep on an interval; off unless set. */
  sweep?: { intervalMs: number; dryRun: boolean };
  /** How `/preview` commands wait on the platform (COMMAND_POLL_INTERVAL); `commands/context.ts` has the defaults. */
  commandTiming?: Partial<CommandTiming>;
}

export interface AppHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  log: Logger;
  /** Resolves when background teardowns are done. */
  idle(): Promise<void>;
  sweepOnce(dryRun: boolean): Promise<SweepReport>;
  close(): Promise<void>;
}

/**
 * The app's request handler, without a listening socket (also used by the Lambda handler), made of
 * its parts: the log, the platforms, the forge doors, the queue, the router with every event
 * handler, the HTTP routes, the sweeper; and how they stop.
 */
export async function createAppHandler(options: AppOptions): Promise<AppHandler> {
  const log = openAppLog(options);
  // Aborted once stopped: no forge call, or retry of one, outlives the app.
  const lifetime = new AbortController();
  const platformFor = appPlatforms(options.platformSettings, options.env ?? process.env, options.platformFor);
  const doors = await openDoors(options, log, lifetime.signal);
  const queue = await openQueue(options, { doors, platformFor, log });
  const commands = await openCommands(options, { doors, platformFor, log });
  // Every handler is on the router before the doors' routes subscribe to its events.
  const router = appRouter({ queue, commands });
  const handle = await appRoutes({ doors, router, log });
  const sweeper = startSweeper(options.sweep, { doors, platformFor, log, lifetime: lifetime.signal });
  return {
    handle,
    log,
    idle: async () => {
      await Promise.all([queue.idle(), commands.idle()]);
    },
    sweepOnce: (dryRun) => sweeper.sweepOnce(dryRun),
    close: () => stopApp(options, { queue, commands, sweeper, lifetime, doors, log }),
  };
}

export interface AppServerOptions extends AppOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface AppServer {
  url: string;
  log: Logger;
  /** Resolves when background teardowns are done (for tests and graceful shutdown). */
  idle(): Promise<void>;
  sweepOnce(dryRun: boolean): Promise<SweepReport>;
  close(): Promise<void>;
}

/** Listens for webhooks: GitHub on /api/github/webhooks, Gitea on /api/gitea/webhooks, and GET /healthz. */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const app = await createAppHandler(options);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void app.handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  app.log.info({ url }, `agent-preview app listening on ${url}`);
  return {
    url,
    log: app.log,
    idle: app.idle,
    sweepOnce: app.sweepOnce,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await app.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
