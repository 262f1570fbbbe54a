import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'probot';
import { openDoors, type Doors } from '../../../src/app/doors.js';
import { appRouter } from '../../../src/app/handlers.js';
import { openQueue } from '../../../src/app/queue.js';
import { appRoutes } from '../../../src/app/routes.js';
import type { TeardownQueue } from '../../../src/app/teardown-queue.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { deliver, exampleClose, giteaPullRequestClosed, LogCapture, PreviewSeeder, type Json } from './fixtures.js';
import { appPlatformOn } from './test-app.js';

// The app's parts put together as createAppHandler puts them, with one more handler on the router
// beside the app's own: what reaches the router, from which door, and what the close handler did.
const API_KEY = 'sk-both-doors-Tq6w1Zr9';
const GITHUB_TOKEN = 'ghs_bothDoorsToken0123456789abc';
const WEBHOOK_SECRET = 'whsec-both-doors-github-4e8a2c6f';
const GITEA_TOKEN = 'gitea-token-both-doors-7d3b';
const GITEA_SECRET = 'whsec-both-doors-gitea-1b5f9e3a';

let local: LocalPlatform;
let github: TestForge;
let gitea: TestForge;
let doors: Doors;
let queue: TeardownQueue;
let server: Server;
let url: string;
let logs: LogCapture;
/** Every `pull_request.closed` delivery the router routed, as a handler registered on it saw it. */
let routed: Json[];

beforeAll(async () => {
  [local, github, gitea] = await Promise.all([
    startLocalPlatform({ apiKey: API_KEY, buildStepMs: 10, deployStepMs: 10 }),
    startTestForge({ flavor: 'github', token: GITHUB_TOKEN }),
    startTestForge({ flavor: 'gitea', token: GITEA_TOKEN }),
  ]);
  logs = new LogCapture();
  const log = pino({ level: 'debug' }, logs) as unknown as Logger;
  doors = await openDoors(
    {
      githubToken: GITHUB_TOKEN,
      webhookSecret: WEBHOOK_SECRET,
      githubBaseUrl: github.apiUrl,
      gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: GITEA_SECRET },
      writeSpacing: UNSPACED_WRITES,
    },
    log,
    new AbortController().signal,
  );
  const platform = appPlatformOn(local, API_KEY);
  queue = await openQueue({ retry: { firstDelayMs: 20, maxDelayMs: 100 } }, { doors, platformFor: () => platform, log });
  const router = appRouter({ queue });
  routed = [];
  router.on('pull_request.closed', (delivery) => void routed.push({ door: delivery.door, id: delivery.id, number: delivery.payload.number, repository: delivery.repository }));
  const handle = await appRoutes({ doors, router, log });
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await queue.stop(1000);
  await doors.close();
  await Promise.all([local.close(), github.close(), gitea.close()]);
  for (const secret of [API_KEY, GITHUB_TOKEN, WEBHOOK_SECRET, GITEA_TOKEN, GITEA_SECRET]) expect(logs.text).not.toContain(secret);
  clearSecrets();
});

it('a signed GitHub close and a signed Gitea close reach the same router and its one close handler, which removes each one’s preview; a badly signed Gitea close never reaches the router', async () => {
  const seeder = new PreviewSeeder(local, API_KEY);
  const { payload: githubPayload, preview: onGithub } = await exampleClose(github, seeder);
  const number = githubPayload.pull_request.number;
  gitea.seedRepo('gitea-org', 'agents');
  gitea.seedPullRequest('gitea-org', 'agents', { number: 5, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed' });
  gitea.seedPullRequest('gitea-org', 'agents', { number: 6, headSha: 'c'.repeat(40), headRef: 'german', state: 'closed' });
  const giteaRepo = `${new URL(gitea.url).host}/gitea-org/agents`;
  const [onGitea, forged] = [await seeder.preview(giteaRepo, 'pr-5'), await seeder.preview(giteaRepo, 'pr-6')];

  const { status: githubStatus, headers: githubSent } = await deliver(url, 'github', 'pull_request', JSON.stringify(githubPayload), WEBHOOK_SECRET);
  expect(githubStatus).toBe(200);
  const giteaBody = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 5, { ref: 'french', sha: 'c'.repeat(40) }));
  const { status: giteaStatus, headers: giteaSent } = await deliver(url, 'gitea', 'pull_request', giteaBody, GITEA_SECRET);
  expect(giteaStatus).toBe(202);
  const forgedBody = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 6, { ref: 'german', sha: 'c'.repeat(40) }));
  expect((await deliver(url, 'gitea', 'pull_request', forgedBody, 'not-the-gitea-secret')).status).toBe(401);
  await queue.idle();

  expect(routed).toEqual([
    { door: 'github', id: githubSent['x-github-delivery'], number, repository: { owner: 'Codertocat', name: 'Hello-World', htmlUrl: githubPayload.repository.html_url } },
    { door: 'gitea', id: giteaSent['x-gitea-delivery'], number: 5, repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${gitea.url}/gitea-org/agents` } },
  ]);
  // The close handler queued each (one log line per door), and each teardown went through its own door.
  const queuedLines = logs.messages().filter((line) => /^pull request #\d+ closed; teardown queued$/.test(line.msg));
  expect(queuedLines.map((line) => [line.id, line.event, line.outcome])).toEqual([
    [githubSent['x-github-delivery'], 'pull_request.closed', 'queued'],
    [giteaSent['x-gitea-delivery'], 'pull_request.closed', 'queued'],
  ]);
  expect(await seeder.status(onGithub.id)).toBe('DELETED');
  expect(await seeder.status(onGitea.id)).toBe('DELETED');
  expect(await seeder.status(forged.id)).toBe('HEALTHY');
  expect(gitea.requests.map((request) => request.path)).not.toContain('/api/v1/repos/gitea-org/agents/pulls/6');
});
