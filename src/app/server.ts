import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import { createNodeMiddleware, Probot, type Logger, type ProbotOctokit } from 'probot';
import type { Forge } from '../forge/forge.js';
import { createForge, giteaApiUrl, abortableFetch } from '../forge/client.js';
import { createPlatform, type PlatformSettings } from '../platforms/index.js';
import { redact, registerSecret } from '../secrets/redact.js';
import { withUniqueKeys } from './log-line.js';
import { previewApp, forgeFromOctokit, githubAccessFor } from './app.js';
import { DEFAULT_TEARDOWN_GRACE_MS, type BackgroundRetry } from './background.js';
import { DeliveryRefused, teardownTask, type AccessFor, type PlatformFor } from './deliveries.js';
import { GITEA_WEBHOOK_PATH, giteaAccessFor, giteaServesRepo, giteaWebhookHandler, readGiteaFile, type GiteaSettings } from './gitea.js';
import { MemoryTeardownQueue, type TeardownQueue } from './teardown-queue.js';
import { RecentCloses } from './cleanup.js';
import { appOctokit } from './octokit.js';
import { repoPlatforms } from './repo-platform.js';
import type { WriteSpacing } from '../forge/throttle.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig, parseRepoConfigText, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import { BodyTooLargeError, readLimitedBody } from './request-body.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import { InputError } from '../errors.js';
import { formatSweepReport, sweepPreviews, type SweepReport } from '../previews/sweep.js';

export const GITHUB_WEBHOOK_PATH = '/api/github/webhooks';

export interface AppOptions {
  /** GitHub App credentials; with `githubToken` instead, every call uses that one token. */
  appId?: string | number;
  privateKey?: string;
  githubToken?: string;
  /** Verifies GitHub deliveries (X-Hub-Signature-256). Required when the GitHub door is on. */
  webhookSecret?: string;
  /** The GitHub REST API (GHES: https://host/api/v3). */
  githubBaseUrl?: string;
  /** The host builds record for GitHub repositories: github.com unless GHES. */
  githubHost?: string;
  gitea?: GiteaSettings;
  platformSettings: PlatformSettings;
  /** The label template for repositories without `.github/agent-preview.yml` (default `pr-{number}`). */
  defaultLabelTemplate?: string;
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
  /** How far apart writes to GitHub go (AGENT_PREVIEW_WRITE_SPACING); GitHub's guidance unless given. */
  writeSpacing?: WriteSpacing;
  /** With Redis: how long a teardown whose replica died waits before another takes it over (TEARDOWN_TAKEOVER, default 30 s). */
  takeoverMs?: number;
  /** Found while reading the settings (a short webhook secret, say); logged at start. */
  warnings?: string[];
  /** Runs the sweep on an interval; off unless set. */
  sweep?: { intervalMs: number; dryRun: boolean };
}

export interface AppHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  log: Logger;
  /** Resolves when background teardowns are done. */
  idle(): Promise<void>;
  sweepOnce(dryRun: boolean): Promise<SweepReport>;
  close(): Promise<void>;
}

/** The app's request handler: GitHub (Probot), Gitea, and /healthz, without a listening socket (also used by the Lambda handler). */
export async function createAppHandler(options: AppOptions): Promise<AppHandler> {
  const env = options.env ?? process.env;
  for (const secret of [
    options.webhookSecret,
    options.githubToken,
    options.privateKey,
    options.gitea?.token,
    options.gitea?.webhookSecret,
    options.platformSettings.apiKey,
    env.SGP_API_KEY,
    redisPassword(options.redisUrl),
  ]) {
    registerSecret(secret);
  }
  const log = pino(
    { level: options.logLevel ?? env.LOG_LEVEL ?? 'info', base: undefined },
    { write: (line: string) => (options.logStream ?? process.stdout).write(redact(withUniqueKeys(line))) },
  );
  const defaultConfig: RepoConfig = { ...DEFAULT_REPO_CONFIG, labelTemplate: options.defaultLabelTemplate?.trim() || DEFAULT_REPO_CONFIG.labelTemplate };
  const platformEnv = options.platformSettings.env ?? env;
  const platformFor: PlatformFor =
    options.platformFor ??
    repoPlatforms(options.platformSettings.platform, platformEnv, (platform, own) =>
      // The app's own URL and key belong to its own platform; another one reads its own variables.
      createPlatform(own ? { ...options.platformSettings, env: platformEnv, platform } : { env: platformEnv, platform, onRetry: options.platformSettings.onRetry }),
    );

  if (!options.redisUrl && !options.sweep) log.warn(NO_DURABILITY_WARNING);
  const secretWarnings = [checkWebhookSecret(options.webhookSecret, 'WEBHOOK_SECRET'), checkWebhookSecret(options.gitea?.webhookSecret, 'GITEA_WEBHOOK_SECRET')];
  for (const warning of new Set([...(options.warnings ?? []), ...secretWarnings])) if (warning) log.warn(warning);
  const githubOctokit = await appOctokit({
    redisUrl: options.redisUrl,
    writeSpacing: options.writeSpacing,
    onError: (message) => log.error({ source: 'bottleneck' }, `GitHub throttling in Redis: ${message}`),
  });
  // Aborted once stopped: no forge call, or retry of one, outlives the server.
  const lifetime = new AbortController();
  const probot = await startGithubDoor(options, log, githubOctokit.Octokit, lifetime.signal);
  const githubHost = (options.githubHost ?? 'github.com').toLowerCase();
  const doors: Record<'github' | 'gitea', AccessFor | undefined> = {
    github: probot ? githubAccessFor(probot, { githubHost, asApp: !options.githubToken, defaultConfig }) : undefined,
    gitea: options.gitea ? giteaAccessFor(options.gitea, defaultConfig, lifetime.signal) : undefined,
  };
  const accessFor: AccessFor = async (job, signal) => {
    const door = doors[job.door];
    if (!door) throw new DeliveryRefused(`this app does not serve ${job.door}`);
    return door(job, signal);
  };
  const recent = new RecentCloses();
  const taskFor = (job: Parameters<AccessFor>[0], jobLog: Logger) => teardownTask(job, { log: jobLog, accessFor, platformFor, recent });
  // BullMQ and ioredis load only for an app that has REDIS_URL.
  const queue: TeardownQueue = options.redisUrl
    ? new (await import('./durable.js')).DurableTeardownQueue({
        redisUrl: options.redisUrl,
        lanes: (['github', 'gitea'] as const).filter((door) => doors[door]),
        taskFor,
        log,
        retry: options.retry,
        takeoverMs: options.takeoverMs,
      })
    : new MemoryTeardownQueue(taskFor, options.retry);
  const githubMiddleware = probot ? await createNodeMiddleware(previewApp({ queue }), { probot, webhooksPath: GITHUB_WEBHOOK_PATH }) : undefined;
  const giteaHandler = options.gitea ? giteaWebhookHandler({ ...options.gitea, queue, log }) : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://app').pathname.replace(/\/+$/, '') || '/';
    try {
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return json(res, 200, { status: 'ok' });
      if (path === GITEA_WEBHOOK_PATH && giteaHandler) return await giteaHandler(req, res);
      if (path === GITHUB_WEBHOOK_PATH && githubMiddleware) {
        if (req.method === 'POST') {
          try {
            // Probot reads the body without a limit; read it here, bounded, and hand it over as text.
            req.body = (await readLimitedBody(req)).toString('utf8');
          } catch (err) {
            if (err instanceof BodyTooLargeError) return json(res, 413, { error: err.message }, { connection: 'close' });
            throw err;
          }
        }
        await githubMiddleware(req, res);
        return;
      }
      json(res, 404, { error: 'not found' });
    } catch (err) {
      log.error({ error: redact((err as Error).message), path }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  }

  const giteaAnswers = options.gitea ? giteaServesRepo(options.gitea, lifetime.signal) : undefined;
  const giteaServes = async (repo: SourceRepo) => Boolean(giteaAnswers && !(probot && repo.host === githubHost) && (await giteaAnswers.serves(repo)));

  /** The forge that serves a recorded repository, for the sweep. */
  async function forgeFor(repo: SourceRepo): Promise<Forge | undefined> {
    if (options.gitea && (await giteaServes(repo))) {
      return createForge({ kind: 'gitea', apiUrl: giteaApiUrl(options.gitea.url), token: options.gitea.token, lifetime: lifetime.signal });
    }
    if (!probot || repo.host !== githubHost) return undefined;
    const octokit = await installationOctokit(probot, options, repo);
    return octokit ? forgeFromOctokit(octokit) : undefined;
  }

  async function labelTemplateFor(repo: SourceRepo): Promise<string | undefined> {
    if (options.gitea && (await giteaServes(repo))) {
      const apiUrl = giteaApiUrl(options.gitea.url);
      const text = await readGiteaFile(apiUrl, options.gitea.token, repo, REPO_CONFIG_PATH, AbortSignal.timeout(30_000));
      return parseRepoConfigText(text, defaultConfig).labelTemplate;
    }
    if (!probot || repo.host !== githubHost) return undefined;
    const octokit = await installationOctokit(probot, options, repo);
    if (!octokit) return undefined;
    const { config } = await octokit.config.get({ owner: repo.owner, repo: repo.repo, path: REPO_CONFIG_PATH });
    return parseRepoConfig(Object.keys(config).length ? config : null, defaultConfig).labelTemplate;
  }

  let sweeping: Promise<SweepReport> | undefined;
  async function sweepOnce(dryRun: boolean): Promise<SweepReport> {
    // One sweep at a time per process; replicas sweeping at once only repeat idempotent deletes.
    if (!sweeping) giteaAnswers?.clear();
    sweeping ??= sweepPreviews({
      platform: platformFor(undefined),
      forgeFor,
      labelTemplateFor,
      dryRun,
      log: { info: (message) => log.info({ sweep: true }, message), warn: (message) => log.warn({ sweep: true }, message) },
    }).finally(() => {
      sweeping = undefined;
    });
    const report = await sweeping;
    log.info(
      { sweep: true, dryRun: report.dryRun, examined: report.examined, deleted: report.deleted.length, wouldDelete: report.wouldDelete.length, failed: report.failed.length },
      formatSweepReport(report),
    );
    return report;
  }

  let timer: NodeJS.Timeout | undefined;
  if (options.sweep && options.sweep.intervalMs > 0) {
    const { intervalMs, dryRun } = options.sweep;
    timer = setInterval(() => {
      sweepOnce(dryRun).catch((err) => log.error({ sweep: true, error: redact((err as Error).message) }, 'sweep failed'));
    }, intervalMs);
    timer.unref();
  }

  return {
    handle,
    log,
    idle: () => queue.idle(),
    sweepOnce,
    async close() {
      if (timer) clearInterval(timer);
      const graceMs = options.teardownGraceMs ?? DEFAULT_TEARDOWN_GRACE_MS;
      const { unfinished } = await queue.stop(graceMs);
      if (unfinished.length) log.error({ unfinished }, unfinishedAtStop(unfinished, graceMs, options));
      lifetime.abort(new Error('the app is stopping'));
      await sweeping?.catch(() => undefined);
      await githubOctokit.close();
    },
  };
}

/**
 * Without Redis, acknowledged teardowns live in this process only: a restart that outlasts
 * TEARDOWN_GRACE loses what is left, and only a sweep finds those previews again.
 */
const NO_DURABILITY_WARNING =
  'neither REDIS_URL nor SWEEP_INTERVAL is set: teardowns still queued when this process stops (after TEARDOWN_GRACE) are lost, and nothing sweeps them later; set REDIS_URL (durable teardowns) or SWEEP_INTERVAL with SWEEP_DRY_RUN=false, or run `agent-preview sweep --delete` on a schedule (docs/app-deployment.md)';

/** What a stop left undone, and truthfully where it goes: a sweep only if one runs here. */
function unfinishedAtStop(unfinished: string[], graceMs: number, options: AppOptions): string {
  const fate = options.redisUrl
    ? 'their jobs stay in Redis for another replica'
    : options.sweep && !options.sweep.dryRun
      ? 'left for the sweep (SWEEP_INTERVAL)'
      : 'lost: this app runs no deleting sweep (SWEEP_INTERVAL with SWEEP_DRY_RUN=false), so they stay until `agent-preview sweep --delete` runs or the pull request closes again';
  return `stopped with ${unfinished.length} teardowns unfinished after the ${graceMs} ms grace period; ${fate}: ${unfinished.join('; ')}`;
}

/** A webhook secret that is blank is no secret: refused. A short one is guessable: the warning to log is returned. */
export function checkWebhookSecret(secret: string | undefined, variable: string): string | undefined {
  if (secret === undefined) return undefined;
  if (!secret.trim()) throw new InputError(`${variable} is blank: set it to the webhook's secret (a long random string)`, { field: variable });
  if (secret.trim().length >= MIN_SECRET_LENGTH) return undefined;
  return `${variable} is shorter than ${MIN_SECRET_LENGTH} characters: anyone who guesses it can sign deliveries; use a long random string`;
}

/** GitHub suggests "a random string with high entropy"; 16 characters is the least we stay quiet about. */
export const MIN_SECRET_LENGTH = 16;

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

async function startGithubDoor(options: AppOptions, log: Logger, Octokit: typeof ProbotOctokit | undefined, lifetime: AbortSignal): Promise<Probot | undefined> {
  const asApp = options.appId !== undefined && options.appId !== '' && Boolean(options.privateKey);
  if (!asApp && !options.githubToken) return undefined;
  if (!options.webhookSecret?.trim()) throw new InputError('the GitHub webhook needs a secret: set WEBHOOK_SECRET', { field: 'WEBHOOK_SECRET' });
  return new Probot({
    ...(asApp ? { appId: options.appId, privateKey: options.privateKey } : { githubToken: options.githubToken }),
    secret: options.webhookSecret,
    baseUrl: options.githubBaseUrl,
    log,
    Octokit,
    request: { fetch: abortableFetch(lifetime) },
  });
}

/** An octokit for the app's installation on this repository, or undefined when it is not installed there. */
async function installationOctokit(probot: Probot, options: AppOptions, repo: SourceRepo) {
  const appOctokit = await probot.auth();
  if (options.githubToken) return appOctokit;
  try {
    const { data } = await appOctokit.rest.apps.getRepoInstallation({ owner: repo.owner, repo: repo.repo });
    return await probot.auth(data.id);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function redisPassword(redisUrl: string | undefined): string | undefined {
  if (!redisUrl || !URL.canParse(redisUrl)) return undefined;
  return decodeURIComponent(new URL(redisUrl).password) || undefined;
}
