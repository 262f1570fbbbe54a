import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { createForge } from '../../../src/forge/client.js';
import type { AppServer } from '../../../src/app/server.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { deliver, exampleClose, githubAppKeys, LogCapture, PreviewSeeder, stickyBody } from './fixtures.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { startTestApp } from './test-app.js';

// Runs the app as a real GitHub App: a private key, a JWT per app call, an installation token per
// repository, the way it runs when registered on github.com.
const API_KEY = 'sk-app-install-Yt5c0Wq2Lm';
const WEBHOOK_SECRET = 'whsec-install-77ad2c';
const INSTALLATION_TOKEN = 'ghs_installationToken0a1b2c3d4e5f6g';
const APP_ID = 8231;
const INSTALLATION_ID = 4242;
// Another organisation's installation of the same app, on its own repository only.
const OTHER_INSTALLATION = { id: 5151, token: 'ghs_otherInstallationToken9z8y7x', repos: ['mallory/agents'] };
const { privateKey: PRIVATE_KEY, publicKey } = githubAppKeys();

let local: LocalPlatform;
let github: TestForge;
let app: AppServer;
let logs: LogCapture;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20 });
  github = await startTestForge({
    flavor: 'github',
    app: { appId: APP_ID, publicKey, installationId: INSTALLATION_ID, installationToken: INSTALLATION_TOKEN, otherInstallations: [OTHER_INSTALLATION] },
  });
  github.seedRepo('Codertocat', 'Hello-World');
  github.seedRepo('mallory', 'agents');
  logs = new LogCapture();
  app = await startTestApp({
    local,
    apiKey: API_KEY,
    appId: APP_ID,
    privateKey: PRIVATE_KEY,
    webhookSecret: WEBHOOK_SECRET,
    githubBaseUrl: github.apiUrl,
    retry: { firstDelayMs: 20, maxDelayMs: 100 },
    logStream: logs,
  });
});

afterEach(async () => {
  await app.close();
  await Promise.all([local.close(), github.close()]);
  for (const secret of [API_KEY, WEBHOOK_SECRET, INSTALLATION_TOKEN, OTHER_INSTALLATION.token, PRIVATE_KEY.split('\n')[1]]) expect(logs.text).not.toContain(secret);
});

afterAll(() => clearSecrets());

it('a delivery is served with the installation token it names: previews deleted, comment marked, deployment inactive', async () => {
  const seeder = new PreviewSeeder(local, API_KEY);
  const { payload, preview } = await exampleClose(github, seeder, { seedRepo: false });
  payload.installation = { id: INSTALLATION_ID, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==' };
  const pull = payload.pull_request;
  const setup = createForge({ kind: 'github', apiUrl: github.apiUrl, token: INSTALLATION_TOKEN, writeSpacing: UNSPACED_WRITES });
  await setup.createComment({ owner: 'Codertocat', repo: 'Hello-World', number: pull.number }, stickyBody(`pr-${pull.number}`));
  await setup.setPreviewStatus(
    { owner: 'Codertocat', repo: 'Hello-World' },
    { state: 'success', environment: `preview/pr-${pull.number}`, sha: pull.head.sha, description: 'preview ready' },
  );
  github.requests.length = 0;

  const delivery = await deliver(app.url, 'github', 'pull_request', JSON.stringify(payload), WEBHOOK_SECRET);
  expect(delivery.status).toBe(200);
  await seeder.deleted(preview.id);
  await app.idle();
  expect(github.comments('Codertocat', 'Hello-World', pull.number)[0].body).toContain('Preview removed');
  expect(github.deployments('Codertocat', 'Hello-World').map((deployment) => deployment.statuses.at(-1)!.state)).toEqual(['inactive']);
  const calls = github.requests.map((request) => `${request.method} ${request.path} ${request.status}`);
  expect(calls).toContain(`POST /app/installations/${INSTALLATION_ID}/access_tokens 201`);
  expect(calls.filter((call) => call.includes(' 401'))).toEqual([]);
});

it("the sweep finds each repository's installation with the app JWT and acts with its token", async () => {
  github.seedPullRequest('Codertocat', 'Hello-World', { number: 9, headSha: 'd'.repeat(40), headRef: 'nine', state: 'closed' });
  const seeder = new PreviewSeeder(local, API_KEY);
  const preview = await seeder.preview('github.com/Codertocat/Hello-World', 'pr-9');
  const notInstalled = await seeder.preview('github.com/elsewhere/agents', 'pr-9');

  const report = await app.sweepOnce(false);
  expect(report.deleted.map((item) => item.deploymentId)).toEqual([preview.id]);
  expect(report.kept.map((item) => item.deploymentId)).toEqual([notInstalled.id]);
  expect(await seeder.status(preview.id)).toBe('DELETED');
  expect(await seeder.status(notInstalled.id)).toBe('HEALTHY');
  const calls = github.requests.map((request) => `${request.method} ${request.path} ${request.status}`);
  // The sweep names repositories as recorded (lowercased); GitHub's routes ignore case.
  expect(calls).toContain('GET /repos/codertocat/hello-world/installation 200');
  expect(calls).toContain(`POST /app/installations/${INSTALLATION_ID}/access_tokens 201`);
});

it("a delivery naming another installation than the repository's is refused: nothing deleted, no token of that installation used on it", async () => {
  const seeder = new PreviewSeeder(local, API_KEY);
  const { payload, preview } = await exampleClose(github, seeder, { seedRepo: false });
  payload.installation = { id: OTHER_INSTALLATION.id, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNTE1MQ==' };

  expect((await deliver(app.url, 'github', 'pull_request', JSON.stringify(payload), WEBHOOK_SECRET)).status).toBe(200);
  await app.idle();

  expect(await seeder.status(preview.id)).toBe('HEALTHY');
  expect(local.requests.filter((request) => request.route === 'deployments.delete')).toEqual([]);
  const refusal = logs.messages().find((line) => line.level === 50 && /belongs to installation 4242, not to installation 5151/.test(line.msg));
  expect(refusal).toMatchObject({ leftForSweep: false });
  const calls = github.requests.map((request) => `${request.method} ${request.path}`);
  expect(calls).toContain('GET /repos/Codertocat/Hello-World/installation');
  expect(calls).not.toContain(`POST /app/installations/${OTHER_INSTALLATION.id}/access_tokens`);
});
