import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { githubAppKeys, githubExample, githubHeaders, giteaHeaders, giteaPullRequestClosed, LogCapture, post, PreviewSeeder, until, type Json } from './fixtures.js';
import { startTestApp } from './test-app.js';

// The GitHub App door during a GitHub outage, beside a Gitea door. Its calls once ran on, retrying
// against the failing token endpoint, after their attempts timed out and after the app stopped
// (holding the test process for a minute); the app now ends them (forge/client.ts abortableFetch).
const API_KEY = 'sk-app-outage-Yt5c0Wq2Lm';
const WEBHOOK_SECRET = 'whsec-outage-77ad2c';
const INSTALLATION_TOKEN = 'ghs_outageInstallationToken0a1b2c3d';
const APP_ID = 8232;
const GITEA_TOKEN = 'gitea-token-outage-3a9c51e2';
const GITEA_SECRET = 'whsec-gitea-outage-7d0b4f2e19';
const INSTALLATION_ID = 4243;
const { privateKey: PRIVATE_KEY, publicKey } = githubAppKeys();

let local: LocalPlatform;
let github: TestForge;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20 });
  github = await startTestForge({ flavor: 'github', app: { appId: APP_ID, publicKey, installationId: INSTALLATION_ID, installationToken: INSTALLATION_TOKEN } });
  github.seedRepo('Codertocat', 'Hello-World');
});

afterEach(async () => {
  await Promise.all([local.close(), github.close()]);
});

afterAll(() => clearSecrets());

it('a GitHub auth outage stalls no Gitea teardown, and stopping during it ends within the grace period', async () => {
  const gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
  gitea.seedRepo('gitea-org', 'agents');
  gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed' });
  const seeder = new PreviewSeeder(local, API_KEY);
  const giteaPreview = await seeder.preview(`${new URL(gitea.url).host}/gitea-org/agents`, 'pr-2');
  const githubPreviews = [];
  for (let number = 11; number <= 14; number++) {
    github.seedPullRequest('Codertocat', 'Hello-World', { number, headSha: 'e'.repeat(40), headRef: `b${number}`, state: 'closed' });
    githubPreviews.push(await seeder.preview('github.com/Codertocat/Hello-World', `pr-${number}`));
  }
  // GitHub's token endpoint is down for the whole test.
  github.failNext(/access_tokens/, 500, 100_000);
  const outageLogs = new LogCapture();
  const both = await startTestApp({
    local,
    apiKey: API_KEY,
    appId: APP_ID,
    privateKey: PRIVATE_KEY,
    webhookSecret: WEBHOOK_SECRET,
    githubBaseUrl: github.apiUrl,
    gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: GITEA_SECRET },
    // Two slots, long waits between tries: GitHub's retries would hold every slot if waits held one.
    retry: { concurrency: 2, attempts: 3, firstDelayMs: 60_000, maxDelayMs: 60_000, attemptTimeoutMs: 2_000 },
    teardownGraceMs: 200,
    logStream: outageLogs,
    // The Gitea teardown's last line ("done", after it told the forge) is a debug line.
    logLevel: 'debug',
  });
  try {
    const example: Json = await githubExample('pull_request', 'closed');
    for (let number = 11; number <= 14; number++) {
      const payload = {
        ...example,
        number,
        installation: { id: INSTALLATION_ID },
        pull_request: { ...example.pull_request, number, head: { ...example.pull_request.head, ref: `b${number}` } },
      };
      const body = JSON.stringify(payload);
      expect((await post(`${both.url}/api/github/webhooks`, body, githubHeaders('pull_request', body, WEBHOOK_SECRET))).status).toBe(200);
    }
    await until(
      async () => outageLogs.messages().filter((line) => /attempt 1 of 3 failed; retrying/.test(line.msg)).length,
      (failures) => failures === 4,
    );
    const body = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
    expect((await post(`${both.url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET))).status).toBe(202);

    // Not only deleted on the platform: the teardown has told the forge too, so stopping now leaves
    // exactly the GitHub teardowns unfinished, however slow the machine.
    await until(
      async () => outageLogs.messages().some((line) => /teardown of .*gitea-org\/agents#2 .*: done \(removed\)/.test(line.msg)),
      (done) => done,
    );
    expect(await seeder.status(giteaPreview.id)).toBe('DELETED');
    // The Gitea teardown finished while every GitHub teardown still waits for its second try.
    expect(outageLogs.messages().filter((line) => /teardown of github.com/.test(line.msg) && line.level >= 50)).toEqual([]);
    expect(await Promise.all(githubPreviews.map((preview) => seeder.status(preview.id)))).toEqual(githubPreviews.map(() => 'HEALTHY'));
  } finally {
    await both.close();
    await gitea.close();
  }
  // Stopped mid-outage: the waiting GitHub teardowns are named and left for the sweep.
  const stopped = outageLogs.messages().find((line) => /teardowns unfinished after the 200 ms grace period/.test(line.msg));
  expect(stopped?.unfinished).toHaveLength(4);
  for (const secret of [GITEA_TOKEN, GITEA_SECRET]) expect(outageLogs.text).not.toContain(secret);
});
