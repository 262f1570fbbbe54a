import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAppServer, type AppServer } from '../../src/app/server.js';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { startLocalPlatform, type FaultRule, type LocalPlatform, type RouteId } from '../../src/local-platform/index.js';
import { HELLO_AGENT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { pullRequestEvent, runActionBundle, shownText, type RunnerSetup } from '../support/runner.js';
import { githubExample, githubHeaders, LogCapture, post } from '../integration/app/fixtures.js';
import { UNSPACED_WRITES } from '../../src/forge/throttle.js';

const API_KEY = 'sk-soak-Hy4Rt7Uu2Oo9Pp';
const TOKEN = 'ghs_soakToken9876543210ZYXWVU';
const WEBHOOK_SECRET = 'whsec-soak-5e0b8c1f2a';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';
const PULLS = 10;
const PUSHES = 5;
const ROUTES: RouteId[] = ['builds.list', 'builds.create', 'builds.get', 'builds.logs', 'deployments.create', 'deployments.list', 'deployments.get', 'deployments.delete'];

/** A small deterministic generator, so a failing soak can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

let local: LocalPlatform;
let forge: TestForge;
let app: AppServer;
const appLogs = new LogCapture();
const captured: string[] = [];
const workspaces: string[] = [];

beforeAll(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 25 });
  forge = await startTestForge({ flavor: 'github', token: TOKEN });
  forge.seedRepo(OWNER, REPO, { defaultBranch: 'master' });
  // The PRs close through the webhook app, as they do when a repository has no teardown step.
  // The forge stands in for a GitHub Enterprise Server, so its host is the repositories' host.
  app = await startAppServer({
    githubToken: TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    githubBaseUrl: forge.apiUrl,
    githubHost: new URL(forge.url).host,
    platformSettings: { platform: 'local', apiUrl: local.url, apiKey: API_KEY },
    writeSpacing: UNSPACED_WRITES,
    env: {},
    retry: { firstDelayMs: 50, maxDelayMs: 500 },
    logStream: appLogs,
  });
});

afterAll(async () => {
  await app.close();
  await local.close();
  await forge.close();
  await Promise.all(workspaces.map((dir) => rm(dir, { recursive: true, force: true })));
});

it(`${PULLS} PRs × ${PUSHES} pushes with random faults and racing runs, then every PR closed through the webhook app`, async () => {
  const next = random(Number(process.env.SOAK_SEED ?? 20261123));
  const faults: FaultRule[] = [];
  const pickFault = () => {
    if (next() > 0.35) return;
    const route = ROUTES[Math.floor(next() * ROUTES.length)];
    const kind = Math.floor(next() * 3);
    const rule: FaultRule = kind === 0 ? { route, status: 503, times: 2 } : kind === 1 ? { route, status: 429, retryAfterSeconds: 0 } : { route, resetConnection: true };
    faults.push(rule);
    local.faults.add(rule);
  };

  // Each PR changes its agent on pushes 0 and 2; the other pushes leave the tree as it was.
  const trees = new Set<string>();
  const runPull = async (number: number) => {
    const workspace = await mkdtemp(path.join(tmpdir(), `ap-soak-${number}-`));
    workspaces.push(workspace);
    const agentDir = path.join(workspace, 'agents', 'hello');
    await cp(HELLO_AGENT, agentDir, { recursive: true });
    const setup: RunnerSetup = { forge, platformUrl: local.url, apiKey: API_KEY, token: TOKEN, repository: `${OWNER}/${REPO}`, workspace, captured };
    let revision = 0;
    for (let push = 0; push < PUSHES; push++) {
      if (push === 0 || push === 2) revision++;
      await writeFile(path.join(agentDir, 'project', 'revision.txt'), `PR ${number} revision ${revision}\n`);
      trees.add(`${number}:${revision}`);
      const sha = `${String(number).padStart(2, '0')}${String(push).padStart(2, '0')}`.padEnd(40, 'a');
      if (push === 0) forge.seedPullRequest(OWNER, REPO, { number, headSha: sha, headRef: `feature-${number}`, baseRef: 'master' });
      else forge.setPullRequestHead(OWNER, REPO, number, sha);
      pickFault();
      const event = pullRequestEvent(push === 0 ? 'opened' : 'synchronize', sha, { number });
      // The forge builds the payload's html_url from its own address, as it does for the app's deliveries below.
      event.repository.html_url = `${forge.url}/${OWNER}/${REPO}`;
      // The last push of every other PR runs twice at once, as two workflow runs would.
      const runs = push === PUSHES - 1 && number % 2 === 0 ? [runActionBundle(setup, event), runActionBundle(setup, event)] : [runActionBundle(setup, event)];
      // A racing twin of an unchanged tree may find the other run's healthy preview and keep it (status unchanged).
      for (const run of await Promise.all(runs))
        expect(
          `${run.code} ${run.outputs.status} ${run.log
            .split('\n')
            .filter((l) => l.startsWith('::error'))
            .join(' ')}`,
        ).toMatch(/^0 (healthy|unchanged|superseded)/);
    }
    forge.closePullRequest(OWNER, REPO, number, { merged: number % 3 === 0 });
    const payload = await githubExample('pull_request', 'closed');
    payload.number = number;
    payload.pull_request.number = number;
    payload.pull_request.merged = number % 3 === 0;
    payload.pull_request.head.sha = `${String(number).padStart(2, '0')}${String(PUSHES - 1).padStart(2, '0')}`.padEnd(40, 'a');
    payload.repository.html_url = `${forge.url}/${OWNER}/${REPO}`;
    const body = JSON.stringify(payload);
    const delivery = await post(`${app.url}/api/github/webhooks`, body, githubHeaders('pull_request', body, WEBHOOK_SECRET));
    expect(delivery.status).toBe(200);
  };

  const numbers = Array.from({ length: PULLS }, (_, index) => index + 1);
  for (let start = 0; start < numbers.length; start += 3) await Promise.all(numbers.slice(start, start + 3).map(runPull));

  // The teardowns ran in the background, retrying through whatever faults were still armed.
  await app.idle();
  local.faults.clear();
  const deployments = local.deployments();
  const livePreviews = deployments.filter((deployment) => deployment.preview && !['DELETED', 'SUPERSEDED', 'CANCELLED'].includes(deployment.status));
  const builds = local.builds();
  const buildsPerTree = new Map<string, number>();
  for (const build of builds) buildsPerTree.set(build.working_tree_hash ?? build.id, (buildsPerTree.get(build.working_tree_hash ?? build.id) ?? 0) + 1);
  const duplicateBuilds = [...buildsPerTree.values()].filter((count) => count > 1).length;
  const comments = numbers.map((number) => forge.comments(OWNER, REPO, number).filter((comment) => comment.body.includes(STICKY_MARKER)).length);
  const commentBodies = numbers.flatMap((number) => forge.comments(OWNER, REPO, number).map((comment) => comment.body));
  const removedNotes = numbers.filter((number) => forge.comments(OWNER, REPO, number).some((comment) => comment.body.includes('Preview removed'))).length;
  const leaks = [...shownText(captured), ...commentBodies, appLogs.text].filter((text) => [API_KEY, TOKEN, WEBHOOK_SECRET].some((secret) => text.includes(secret))).length;

  console.log(
    [
      `soak: ${PULLS} PRs × ${PUSHES} pushes, ${faults.length} injected faults, ${local.requests.length} platform requests`,
      `builds ${builds.length} for ${trees.size} distinct trees (${duplicateBuilds} trees built twice), deployments ${deployments.length}`,
      `sticky comments per PR: ${comments.join(', ')}; PRs closed through the app: ${PULLS}, comments saying removed: ${removedNotes}; live previews after closing: ${livePreviews.length}; secret hits: ${leaks}`,
    ].join('\n'),
  );
  expect(comments).toEqual(numbers.map(() => 1));
  expect(removedNotes).toBe(PULLS);
  expect(livePreviews).toEqual([]);
  expect(leaks).toBe(0);
  // Two runs racing on one unchanged tree may both build before either finishes; sequential
  // pushes of an unchanged tree never do.
  expect(builds.length).toBeLessThanOrEqual(trees.size + PULLS / 2);
  expect(duplicateBuilds).toBeLessThanOrEqual(PULLS / 2);
}, 300_000);
