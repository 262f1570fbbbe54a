import { pino } from 'pino';
import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import { redact, registerSecret } from '../secrets/redact.js';
import { withUniqueKeys } from './log-line.js';

export interface AppLogOptions {
  webhookSecret?: string;
  githubToken?: string;
  privateKey?: string;
  gitea?: { token: string; webhookSecret: string };
  platformSettings: { apiKey?: string };
  redisUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** Where JSON log lines go (stdout unless given). */
  logStream?: { write(line: string): unknown };
  logLevel?: string;
  /** Found while reading the settings; logged once each. */
  warnings?: string[];
  sweep?: unknown;
}

/**
 * The app's log, opened first: every secret the app holds is registered before a line is written,
 * and every line is redacted and carries each key once. What the settings left to warn about is logged here.
 */
export function openAppLog(options: AppLogOptions): Logger {
  const env = options.env ?? process.env;
  const secrets = [options.webhookSecret, options.githubToken, options.privateKey, options.gitea?.token, options.gitea?.webhookSecret];
  for (const secret of [...secrets, options.platformSettings.apiKey, env.SGP_API_KEY, redisPassword(options.redisUrl)]) registerSecret(secret);
  const log = pino(
    { level: options.logLevel ?? env.LOG_LEVEL ?? 'info', base: undefined },
    { write: (line: string) => (options.logStream ?? process.stdout).write(redact(withUniqueKeys(line))) },
  ) as unknown as Logger;
  if (!options.redisUrl && !options.sweep) log.warn(NO_DURABILITY_WARNING);
  const secretWarnings = [checkWebhookSecret(options.webhookSecret, 'WEBHOOK_SECRET'), checkWebhookSecret(options.gitea?.webhookSecret, 'GITEA_WEBHOOK_SECRET')];
  for (const warning of new Set([...(options.warnings ?? []), ...secretWarnings])) if (warning) log.warn(warning);
  return log;
}

/**
 * Without Redis, acknowledged teardowns live in this process only: a restart that outlasts
 * TEARDOWN_GRACE loses what is left, and only a sweep finds those previews again.
 */
export const NO_DURABILITY_WARNING =
  'neither REDIS_URL nor SWEEP_INTERVAL is set: teardowns still queued when this process stops (after TEARDOWN_GRACE) are lost, and nothing sweeps them later; set REDIS_URL (durable teardowns) or SWEEP_INTERVAL with SWEEP_DRY_RUN=false, or run `agent-preview sweep --delete` on a schedule (docs/app-deployment.md)';

/** A webhook secret that is blank is no secret: refused. A short one is guessable: the warning to log is returned. */
export function checkWebhookSecret(secret: string | undefined, variable: string): string | undefined {
  if (secret === undefined) return undefined;
  if (!secret.trim()) throw new InputError(`${variable} is blank: set it to the webhook's secret (a long random string)`, { field: variable });
  if (secret.trim().length >= MIN_SECRET_LENGTH) return undefined;
  return `${variable} is shorter than ${MIN_SECRET_LENGTH} characters: anyone who guesses it can sign deliveries; use a long random string`;
}

/** GitHub suggests "a random string with high entropy"; 16 characters is the least we stay quiet about. */
export const MIN_SECRET_LENGTH = 16;

function redisPassword(redisUrl: string | undefined): string | undefined {
  if (!redisUrl || !URL.canParse(redisUrl)) return undefined;
  return decodeURIComponent(new URL(redisUrl).password) || undefined;
}
