/**
 * The webhook app as a standard Probot app (dist/app/probot.js), for Probot's own tooling:
 *
 *   probot run dist/app/probot.js                                          # a server, or the app.yml setup page without APP_ID
 *   probot receive -e pull_request -p payload.json dist/app/probot.js      # one event, no server
 *
 * The default export is the app function (probot/probot@v14:lib/bin/receive.js and lib/run.js load a
 * module's default export through resolveAppFunction): the GitHub door (`githubDoorApp`) on the
 * same router and handlers as the server (`handlers.ts`): closes, and `/preview` commands in
 * comments (kept in memory). It serves GitHub only; `npm run app`
 * (server.ts) remains the door for Gitea, /healthz, the sweep and graceful shutdown.
 *
 * When a teardown finishes. Under `probot run` a delivery is answered as soon as its teardown is
 * queued, as our own server does (GitHub waits 10 s for an answer). Anywhere without Probot's server
 * (`probot receive`, or a test that calls `probot.load(app)` and `probot.receive(event)`), a handler
 * returns only once the teardown it queued has finished, so `receive()` resolving means the previews
 * are gone (or the failure is logged). Which of the two applies is decided by `addHandler`: Probot's
 * server accepts a handler, and `probot receive` throws "No server instance".
 */
import type { ApplicationFunction, ApplicationFunctionOptions, Logger, Probot } from 'probot';
import { InputError } from '../errors.js';
import { createPlatform, parsePlatformName, PLATFORM_KEY_VARIABLES } from '../platforms/index.js';
import { repoPlatforms } from './repo-platform.js';
import { registerSecret } from '../secrets/redact.js';
import { githubAccessFor, githubDoorApp } from './github.js';
import { teardownTask, type PlatformFor } from './deliveries.js';
import { appRouter } from './handlers.js';
import { MemoryTeardownQueue } from './teardown-queue.js';
import type { StopReport } from './background.js';
import { RefusalMemory } from '../commands/confirm.js';
import { MemoryConversationStore } from '../commands/conversations.js';
import { MemoryCommandQueue } from '../commands/queue.js';
import { commandTask } from '../commands/run.js';
import { RecentCloses } from './cleanup.js';
import { repoConfigDefaults } from '../previews/repo-config.js';
import { checkDefaultLabelTemplate } from '../pipeline/label.js';

/** The platform from the same variables as `npm run app`: AGENT_PREVIEW_PLATFORM and that platform's own key variable. */
function platformsFrom(env: NodeJS.ProcessEnv): PlatformFor {
  const name = parsePlatformName(env.AGENT_PREVIEW_PLATFORM, 'AGENT_PREVIEW_PLATFORM');
  const keyVariable = PLATFORM_KEY_VARIABLES[name];
  if (name !== 'local' && !env[keyVariable]?.trim()) {
    throw new InputError(`no ${name} platform key: set ${keyVariable} (the app deletes previews with it)`, { field: keyVariable });
  }
  registerSecret(env[keyVariable]);
  return repoPlatforms(name, env, (platform) => createPlatform({ platform, env }));
}

/** Probot's server takes extra routes; `probot receive` has none and throws. */
function insideProbotServer(options: ApplicationFunctionOptions | undefined): boolean {
  if (typeof options?.addHandler !== 'function') return false;
  try {
    options.addHandler((req, res) => {
      if (req.url?.split('?')[0] !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return true;
    });
    return true;
  } catch {
    return false;
  }
}

interface Waitable<J> {
  enqueue(job: J, log: Logger): Promise<'queued' | 'duplicate'>;
  idle(): Promise<void>;
  stop(graceMs?: number): Promise<StopReport>;
}

/** Waits for the work a delivery queued (a teardown, a command) before its handler returns. */
function waitingQueue<J>(queue: Waitable<J>): Waitable<J> {
  return {
    enqueue: async (job, log) => {
      const outcome = await queue.enqueue(job, log);
      await queue.idle();
      return outcome;
    },
    idle: () => queue.idle(),
    stop: (graceMs) => queue.stop(graceMs),
  };
}

const agentPreviewApp: ApplicationFunction = (app: Probot, options?: ApplicationFunctionOptions) => {
  const env = process.env;
  const platformFor = platformsFrom(env);
  if (env.PREVIEW_LABEL) checkDefaultLabelTemplate(env.PREVIEW_LABEL);
  const defaultConfig = repoConfigDefaults(env.PREVIEW_LABEL);
  const gheHost = env.GHE_HOST?.trim();
  // A GitHub App (APP_ID and a private key) checks that each delivery's repository belongs to the
  // installation it names; a token-run app (`probot receive -t`, GITHUB_TOKEN) has no installations.
  const asApp = Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH)) && !env.GITHUB_TOKEN;
  const access = githubAccessFor(app, { githubHost: gheHost || 'github.com', asApp, defaultConfig });
  const recent = new RecentCloses();
  const queue = new MemoryTeardownQueue((job, log) => teardownTask(job, { log, accessFor: access, platformFor, recent }));
  const conversations = new MemoryConversationStore();
  const refusals = new RefusalMemory();
  const commands = new MemoryCommandQueue((job, log) => commandTask(job, log, { accessFor: access, platformFor, conversations, refusals }));
  const inServer = insideProbotServer(options);
  const router = appRouter({ queue: inServer ? queue : waitingQueue(queue), commands: inServer ? commands : waitingQueue(commands) });
  return githubDoorApp(router, access)(app, options ?? { cwd: process.cwd(), addHandler: () => undefined });
};

export default agentPreviewApp;
