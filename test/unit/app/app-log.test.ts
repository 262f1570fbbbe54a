import { checkWebhookSecret, NO_DURABILITY_WARNING, openAppLog } from '../../../src/app/app-log.js';
import { InputError } from '../../../src/errors.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { LogCapture } from '../../integration/app/fixtures.js';

const TOKEN = 'ghs_appLogUnitToken0123456789';
const GITEA_TOKEN = 'gitea-token-app-log-unit-4d1f';
const REDIS_PASSWORD = 'redis-pw-app-log-7e2c';

afterEach(() => clearSecrets());

describe("the app's log", () => {
  it('has every secret the app holds registered before its first line, the Redis password too', () => {
    const logs = new LogCapture();
    const log = openAppLog({
      githubToken: TOKEN,
      webhookSecret: 'whsec-app-log-unit-8b3e5d1f',
      gitea: { token: GITEA_TOKEN, webhookSecret: 'whsec-gitea-app-log-2a7c9e4b' },
      platformSettings: { apiKey: 'sk-app-log-unit-Zq81' },
      redisUrl: `redis://app:${REDIS_PASSWORD}@127.0.0.1:6379`,
      env: { SGP_API_KEY: 'sk-sgp-app-log-unit-Hf6K' },
      logStream: logs,
    });
    log.info({ header: `token ${TOKEN}` }, `calling with ${GITEA_TOKEN}, sk-app-log-unit-Zq81, sk-sgp-app-log-unit-Hf6K and ${REDIS_PASSWORD}`);
    const line = logs.messages().at(-1)!;
    expect(JSON.stringify(line)).not.toMatch(/ghs_appLogUnit|gitea-token-app-log|sk-app-log|sk-sgp-app-log|redis-pw-app-log/);
    expect(line.msg).toMatch(/^calling with /);
  });

  it('warns at start, once each: no durability without Redis or a sweep, a short secret, what the settings found', () => {
    const logs = new LogCapture();
    openAppLog({
      webhookSecret: 'short-secret',
      platformSettings: {},
      env: {},
      logStream: logs,
      warnings: ['WEBHOOK_SECRET is shorter than 16 characters: anyone who guesses it can sign deliveries; use a long random string'],
    });
    expect(logs.messages().map((line) => [line.level, line.msg])).toEqual([
      [40, NO_DURABILITY_WARNING],
      [40, 'WEBHOOK_SECRET is shorter than 16 characters: anyone who guesses it can sign deliveries; use a long random string'],
    ]);

    const durable = new LogCapture();
    openAppLog({ platformSettings: {}, env: {}, logStream: durable, redisUrl: 'redis://127.0.0.1:6379' });
    openAppLog({ platformSettings: {}, env: {}, logStream: durable, sweep: { intervalMs: 60_000, dryRun: false } });
    expect(durable.lines).toEqual([]);
  });

  it('refuses a blank webhook secret, naming the variable', () => {
    const blank = () => openAppLog({ gitea: { token: GITEA_TOKEN, webhookSecret: ' \n' }, platformSettings: {}, env: {}, logStream: new LogCapture() });
    expect(blank).toThrow(InputError);
    expect(blank).toThrow(/GITEA_WEBHOOK_SECRET is blank/);
    expect(checkWebhookSecret(undefined, 'WEBHOOK_SECRET')).toBeUndefined();
    expect(checkWebhookSecret('a'.repeat(16), 'WEBHOOK_SECRET')).toBeUndefined();
  });
});
