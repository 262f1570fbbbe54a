import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { writeSpacingFromEnv } from '../forge/throttle.js';
import { parseDuration } from '../duration.js';
import { checkDefaultLabelTemplate } from '../pipeline/label.js';
import { PLATFORM_KEY_VARIABLES, parsePlatformName } from '../platforms/index.js';
import { checkWebhookSecret } from './app-log.js';
import type { AppServerOptions } from './server.js';

/**
 * The app's settings from the environment, checked before anything starts: GitHub App
 * (`APP_ID`, `PRIVATE_KEY` or `PRIVATE_KEY_PATH`, `WEBHOOK_SECRET`, `GHE_HOST`), Gitea
 * (`GITEA_URL`, `GITEA_TOKEN`, `GITEA_WEBHOOK_SECRET`), the platform (`SGP_API_KEY`,
 * `SGP_ACCOUNT_ID`, `SGP_CLIENT_BASE_URL`, `AGENT_PREVIEW_PLATFORM`), `PREVIEW_LABEL` (the label template
 * for repositories without `.github/agent-preview.yml`), `PORT`, `HOST`, and the sweep
 * (`SWEEP_INTERVAL`, off unless set; `SWEEP_DRY_RUN`, true unless `false`), `TEARDOWN_GRACE` (how long a
 * stopping replica keeps tearing down, default 25s) and `REDIS_URL` (durable teardowns, shared throttling).
 */
export async function appOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<AppServerOptions> {
  const privateKey = await readPrivateKey(env);
  const hasApp = Boolean(env.APP_ID || privateKey);
  if (hasApp && !(env.APP_ID && privateKey)) {
    throw new InputError('a GitHub App needs both APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH)', { field: env.APP_ID ? 'PRIVATE_KEY' : 'APP_ID' });
  }
  if (hasApp && !env.WEBHOOK_SECRET) throw new InputError('set WEBHOOK_SECRET to the GitHub App webhook secret', { field: 'WEBHOOK_SECRET' });
  const warnings = [checkWebhookSecret(env.WEBHOOK_SECRET, 'WEBHOOK_SECRET'), checkWebhookSecret(env.GITEA_WEBHOOK_SECRET, 'GITEA_WEBHOOK_SECRET')].filter((w): w is string =>
    Boolean(w),
  );

  const giteaSet = [env.GITEA_URL, env.GITEA_TOKEN, env.GITEA_WEBHOOK_SECRET].filter(Boolean).length;
  if (giteaSet > 0 && giteaSet < 3) {
    throw new InputError('Gitea needs GITEA_URL, GITEA_TOKEN and GITEA_WEBHOOK_SECRET together', { field: 'GITEA_URL' });
  }
  if (env.GITEA_URL && !/^https?:\/\//i.test(env.GITEA_URL)) throw new InputError(`GITEA_URL "${env.GITEA_URL}" is not an http(s) URL`, { field: 'GITEA_URL' });
  if (!hasApp && !giteaSet) {
    throw new InputError('nothing to serve: configure a GitHub App (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET) or Gitea (GITEA_URL, GITEA_TOKEN, GITEA_WEBHOOK_SECRET)', {
      field: 'APP_ID',
    });
  }

  // Without a key every teardown would fail at the platform: refuse to start instead.
  const platform = parsePlatformName(env.AGENT_PREVIEW_PLATFORM, 'AGENT_PREVIEW_PLATFORM');
  const keyVariable = PLATFORM_KEY_VARIABLES[platform];
  if (platform !== 'local' && !env[keyVariable]?.trim()) {
    throw new InputError(`no ${platform} platform key: set ${keyVariable} (the app deletes previews with it)`, { field: keyVariable });
  }

  const port = env.PORT ? Number(env.PORT) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError(`PORT "${env.PORT}" is not a port number`, { field: 'PORT' });
  const gheHost = env.GHE_HOST?.trim();
  if (env.PREVIEW_LABEL) checkDefaultLabelTemplate(env.PREVIEW_LABEL);

  return {
    port,
    host: env.HOST || '0.0.0.0',
    appId: env.APP_ID,
    privateKey,
    webhookSecret: env.WEBHOOK_SECRET,
    githubBaseUrl: gheHost ? `${env.GHE_PROTOCOL || 'https'}://${gheHost}/api/v3` : undefined,
    githubHost: gheHost || 'github.com',
    gitea: giteaSet ? { url: env.GITEA_URL!, token: env.GITEA_TOKEN!, webhookSecret: env.GITEA_WEBHOOK_SECRET! } : undefined,
    platformSettings: { platform: env.AGENT_PREVIEW_PLATFORM, env },
    defaultLabelTemplate: env.PREVIEW_LABEL,
    env,
    logLevel: env.LOG_LEVEL,
    warnings,
    teardownGraceMs: env.TEARDOWN_GRACE ? parseDuration(env.TEARDOWN_GRACE, 'TEARDOWN_GRACE') : undefined,
    redisUrl: redisUrlOf(env.REDIS_URL),
    writeSpacing: writeSpacingFromEnv(env),
    takeoverMs: env.TEARDOWN_TAKEOVER ? parseDuration(env.TEARDOWN_TAKEOVER, 'TEARDOWN_TAKEOVER', { minMs: 1000 }) : undefined,
    commandTiming: env.COMMAND_POLL_INTERVAL ? { pollIntervalMs: parseDuration(env.COMMAND_POLL_INTERVAL, 'COMMAND_POLL_INTERVAL', { minMs: 10, maxMs: 600_000 }) } : undefined,
    sweep: env.SWEEP_INTERVAL
      ? { intervalMs: parseDuration(env.SWEEP_INTERVAL, 'SWEEP_INTERVAL', { minMs: 60_000 }), dryRun: env.SWEEP_DRY_RUN?.trim().toLowerCase() !== 'false' }
      : undefined,
  };
}

/** PRIVATE_KEY as PEM text (literal `\n` allowed) or base64 of it; else the file at PRIVATE_KEY_PATH. */
async function readPrivateKey(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const inline = env.PRIVATE_KEY?.trim();
  if (inline) {
    if (inline.includes('-----BEGIN')) return inline.replace(/\\n/g, '\n');
    const decoded = Buffer.from(inline, 'base64').toString('utf8');
    if (decoded.includes('-----BEGIN')) return decoded;
    throw new InputError('PRIVATE_KEY is neither a PEM key nor base64 of one', { field: 'PRIVATE_KEY' });
  }
  if (!env.PRIVATE_KEY_PATH) return undefined;
  try {
    return await readFile(env.PRIVATE_KEY_PATH, 'utf8');
  } catch (err) {
    throw new InputError(`PRIVATE_KEY_PATH ${env.PRIVATE_KEY_PATH} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      field: 'PRIVATE_KEY_PATH',
    });
  }
}

/** REDIS_URL as ioredis takes it (`redis://` or `rediss://`); refused otherwise, without echoing it (it may hold a password). */
function redisUrlOf(value: string | undefined): string | undefined {
  const url = value?.trim();
  if (!url) return undefined;
  if (!URL.canParse(url) || !/^rediss?:$/.test(new URL(url).protocol)) throw new InputError('REDIS_URL must be a redis:// or rediss:// URL', { field: 'REDIS_URL' });
  return url;
}
