import { parseDocument } from 'yaml';
import type { AppServer } from '../../../src/app/server.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { deliver, exampleClose, LogCapture, PreviewSeeder } from './fixtures.js';
import { startTestApp } from './test-app.js';

// Issue 27: the app's JSON log lines, read by a log pipeline. Each test failed on the code before its fix.
const API_KEY = 'sk-app-loglines-Hf6Kw2Qp';
const GITHUB_TOKEN = 'ghs_logLinesToken4c5d6e7f';
// Guessable and warned about, and a common word's length: masking it would mangle every "shorter".
const WEBHOOK_SECRET = 'short';

let local: LocalPlatform;
let github: TestForge;
let app: AppServer;
let logs: LogCapture;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20 });
  github = await startTestForge({ flavor: 'github', token: GITHUB_TOKEN });
  logs = new LogCapture();
  app = await startTestApp({ local, apiKey: API_KEY, githubToken: GITHUB_TOKEN, webhookSecret: WEBHOOK_SECRET, githubBaseUrl: github.apiUrl, logStream: logs, logLevel: 'debug' });
});

afterEach(async () => {
  await app.close();
  await Promise.all([local.close(), github.close()]);
  for (const secret of [API_KEY, GITHUB_TOKEN]) expect(logs.text).not.toContain(secret);
});

afterAll(() => clearSecrets());

it('the short-secret warning reads as written: a secret a common word long is not masked inside other words', () => {
  expect(logs.messages().map((line) => line.msg)).toContain('WEBHOOK_SECRET is shorter than 16 characters: anyone who guesses it can sign deliveries; use a long random string');
});

it('no log line carries a key twice (Probot names its loggers "probot", then "event"): each parses with unique keys', async () => {
  const seeder = new PreviewSeeder(local, API_KEY);
  const { payload, preview } = await exampleClose(github, seeder);
  expect((await deliver(app.url, 'github', 'pull_request', JSON.stringify(payload), WEBHOOK_SECRET)).status).toBe(200);
  await seeder.deleted(preview.id);
  await app.idle();

  // Probot's own loggers wrote some of these lines.
  expect(logs.messages().some((line) => typeof line.name === 'string')).toBe(true);
  const duplicated = logs.lines.filter((line) => parseDocument(line, { uniqueKeys: true }).errors.length > 0);
  expect(duplicated).toEqual([]);
});
