import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { createForge } from '../../../src/forge/client.js';
import { bridge } from '../../../src/app/lambda.js';
import { createAppHandler, type AppServer } from '../../../src/app/server.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { HoldableClock } from '../../support/clock.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { githubExample, githubHeaders, giteaHeaders, giteaPullRequestClosed, hmacHex, LogCapture, post, PreviewSeeder, stickyBody, type Json } from './fixtures.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { appPlatformOn, startTestApp } from './test-app.js';

const API_KEY = 'sk-app-test-Zq81vLw0pR7c';
const GITHUB_TOKEN = 'ghs_appTestInstallationToken9x2';
const WEBHOOK_SECRET = 'whsec-github-4f1c9d7e2b';
const GITEA_TOKEN = 'gitea-token-8d3e51aa7c0b';
const GITEA_SECRET = 'whsec-gitea-0c7a5e19bd';
const SECRETS = [API_KEY, GITHUB_TOKEN, WEBHOOK_SECRET, GITEA_TOKEN, GITEA_SECRET];

const REPO_A = 'github.com/Codertocat/Hello-World';
const REPO_B = 'github.com/octo-org/Hello-World';

let clock: HoldableClock;
let local: LocalPlatform;
let github: TestForge;
let gitea: TestForge;
let app: AppServer;
let seeder: PreviewSeeder;
let logs: LogCapture;
let closedPayload: Json;
let giteaRepo: string;
let appPlatform: AgentexPlatform;

beforeEach(async () => {
  clock = new HoldableClock();
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20, clock });
  github = await startTestForge({ flavor: 'github', token: GITHUB_TOKEN });
  gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
  seeder = new PreviewSeeder(local, API_KEY);
  logs = new LogCapture();
  closedPayload = await githubExample('pull_request', 'closed');
  giteaRepo = `${new URL(gitea.url).host}/gitea-org/agents`;

  const pull = closedPayload.pull_request;
  github.seedRepo('Codertocat', 'Hello-World');
  // The forge has closed the PRs the `closed` deliveries name, as it has when it sends them; octo-org's stays open.
  github.seedPullRequest('Codertocat', 'Hello-World', { number: pull.number, headSha: pull.head.sha, headRef: pull.head.ref, state: 'closed', merged: true });
  github.seedRepo('octo-org', 'Hello-World');
  github.seedPullRequest('octo-org', 'Hello-World', { number: pull.number, headSha: 'b'.repeat(40), headRef: 'other' });
  gitea.seedRepo('gitea-org', 'agents');
  gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed', merged: true });

  // The sticky comment and the deployment the action left on each PR.
  const githubForge = createForge({ kind: 'github', apiUrl: github.apiUrl, token: GITHUB_TOKEN, writeSpacing: UNSPACED_WRITES });
  for (const owner of ['Codertocat', 'octo-org']) {
    await githubForge.createComment({ owner, repo: 'Hello-World', number: 2 }, stickyBody('pr-2'));
    await githubForge.setPreviewStatus(
      { owner, repo: 'Hello-World' },
      { state: 'success', environment: 'preview/pr-2', sha: owner === 'octo-org' ? 'b'.repeat(40) : pull.head.sha, description: 'preview ready' },
    );
  }
  const giteaForge = createForge({ kind: 'gitea', apiUrl: gitea.apiUrl, token: GITEA_TOKEN });
  await giteaForge.createComment({ owner: 'gitea-org', repo: 'agents', number: 2 }, stickyBody('pr-2'));

  appPlatform = appPlatformOn(local, API_KEY);
  app = await startTestApp({
    local,
    apiKey: API_KEY,
    githubToken: GITHUB_TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    githubBaseUrl: github.apiUrl,
    gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: GITEA_SECRET },
    platform: appPlatform,
    retry: { firstDelayMs: 20, maxDelayMs: 100 },
    logStream: logs,
    logLevel: 'debug',
  });
});

afterEach(async () => {
  await app.close();
  await Promise.all([local.close(), github.close(), gitea.close()]);
  for (const secret of SECRETS) expect(logs.text).not.toContain(secret);
});

afterAll(() => clearSecrets());

async function deliverGithub(payload: Json = closedPayload, event = 'pull_request') {
  const body = JSON.stringify(payload);
  return post(`${app.url}/api/github/webhooks`, body, githubHeaders(event, body, WEBHOOK_SECRET));
}

/** A `delete` delivery to an app whose previews are labelled by branch, answered and done. */
async function deliverToBranchLabelledApp(body: string): Promise<void> {
  const branchApp = await startTestApp({
    local,
    apiKey: API_KEY,
    githubToken: GITHUB_TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    githubBaseUrl: github.apiUrl,
    defaultLabelTemplate: '{branch}',
    logStream: logs,
  });
  try {
    expect((await post(`${branchApp.url}/api/github/webhooks`, body, githubHeaders('delete', body, WEBHOOK_SECRET))).status).toBe(200);
    await branchApp.idle();
  } finally {
    await branchApp.close();
  }
}

describe('the webhook app over HTTP, with the local platform and test forges', () => {
  it('answers /healthz', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it("deletes the closed PR's previews of that repository only, marks the comment and the deployment, and is idempotent", async () => {
    const mine = await seeder.preview(REPO_A, 'pr-2');
    const theirs = await seeder.preview(REPO_B, 'pr-2');
    const unattributed = await seeder.preview(undefined, 'pr-2');
    const otherPr = await seeder.preview(REPO_A, 'pr-3');
    // A slow platform must not slow the acknowledgement: the platform holds its answer until the
    // delivery has been answered.
    local.faults.add({ route: 'deployments.list', latencyMs: 1 });
    clock.hold();

    const delivery = await deliverGithub();
    expect(delivery.status).toBe(200);
    expect(await seeder.status(mine.id)).toBe('HEALTHY');

    clock.release();
    await app.idle();
    expect(await seeder.status(mine.id)).toBe('DELETED');
    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');
    expect(await seeder.status(otherPr.id)).toBe('HEALTHY');

    // A preview of the label that records no repository may be this PR's: never claim it is gone.
    const [comment] = github.comments('Codertocat', 'Hello-World', 2);
    expect(comment.body).not.toContain('Preview removed');
    expect(comment.body).toContain('still running');
    expect(comment.body).toContain(unattributed.id);
    expect(github.comments('octo-org', 'Hello-World', 2)[0].body).not.toContain('Preview removed');
    expect(github.comments('octo-org', 'Hello-World', 2)[0].body).not.toContain('still running');
    expect(github.deployments('Codertocat', 'Hello-World')[0].statuses.at(-1)?.state).toBe('inactive');
    expect(github.deployments('octo-org', 'Hello-World')[0].statuses.at(-1)?.state).toBe('success');
    expect(github.requests.some((request) => request.path.includes('graphql'))).toBe(false);

    const outcome = logs.messages().find((line) => /teardown of github.com\/codertocat\/hello-world#2/i.test(line.msg) && line.deleted);
    expect(outcome).toMatchObject({ deleted: [mine.id], alreadyGone: [], otherRepos: [theirs.id], stillRunning: [unattributed.id], level: 40 });
    expect(outcome?.id).toBeTruthy();
    expect(outcome?.msg).toMatch(/still running: .*records no repository/);

    // A redelivery does no harm.
    expect((await deliverGithub()).status).toBe(200);
    await app.idle();
    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
    expect(github.comments('Codertocat', 'Hello-World', 2)).toHaveLength(1);
    expect(logs.messages().filter((line) => line.level >= 50)).toEqual([]);
  });

  it('serves Gitea deliveries with the Gitea header set, for that repository only', async () => {
    const giteaPreview = await seeder.preview(giteaRepo, 'pr-2');
    const githubPreview = await seeder.preview(REPO_A, 'pr-2');
    const body = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));

    const delivery = await post(`${app.url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET));
    expect(delivery.status).toBe(202);
    await app.idle();

    expect(await seeder.status(giteaPreview.id)).toBe('DELETED');
    expect(await seeder.status(githubPreview.id)).toBe('HEALTHY');
    expect(gitea.comments('gitea-org', 'agents', 2)[0].body).toContain('Preview removed');
    expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).not.toContain('Preview removed');
  });

  it('rejects unsigned, badly signed, tampered, non-JSON, wrongly typed and oversize deliveries, deleting nothing', async () => {
    const preview = await seeder.preview(REPO_A, 'pr-2');
    const giteaPreview = await seeder.preview(giteaRepo, 'pr-2');
    const githubBody = JSON.stringify(closedPayload);
    const giteaBody = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
    const githubUrl = `${app.url}/api/github/webhooks`;
    const giteaUrl = `${app.url}/api/gitea/webhooks`;
    const tamper = (text: string) => text.replace('"closed"', '"closed" ').replace('Hello-World', 'Hello-World2');
    const huge = JSON.stringify({ ...closedPayload, padding: 'x'.repeat(1_100_000) });

    const attempts: [string, Promise<{ status: number }>][] = [
      ['github unsigned', post(githubUrl, githubBody, githubHeaders('pull_request', githubBody, undefined))],
      ['github wrong secret', post(githubUrl, githubBody, githubHeaders('pull_request', githubBody, 'not-the-secret'))],
      ['github tampered', post(githubUrl, tamper(githubBody), githubHeaders('pull_request', githubBody, WEBHOOK_SECRET))],
      ['github non-JSON', post(githubUrl, 'action=closed', githubHeaders('pull_request', 'action=closed', WEBHOOK_SECRET))],
      ['github form type', post(githubUrl, githubBody, { ...githubHeaders('pull_request', githubBody, WEBHOOK_SECRET), 'content-type': 'application/x-www-form-urlencoded' })],
      ['github oversize', post(githubUrl, huge, githubHeaders('pull_request', huge, WEBHOOK_SECRET))],
      ['gitea unsigned', post(giteaUrl, giteaBody, giteaHeaders('pull_request', giteaBody, undefined))],
      ['gitea wrong secret', post(giteaUrl, giteaBody, giteaHeaders('pull_request', giteaBody, 'not-the-secret'))],
      ['gitea tampered', post(giteaUrl, tamper(giteaBody), giteaHeaders('pull_request', giteaBody, GITEA_SECRET))],
      ['gitea non-JSON', post(giteaUrl, 'action=closed', giteaHeaders('pull_request', 'action=closed', GITEA_SECRET))],
      ['gitea form type', post(giteaUrl, giteaBody, { ...giteaHeaders('pull_request', giteaBody, GITEA_SECRET), 'content-type': 'application/x-www-form-urlencoded' })],
      ['gitea oversize', post(giteaUrl, huge, giteaHeaders('pull_request', huge, GITEA_SECRET))],
      ['gitea malformed signature', post(giteaUrl, giteaBody, { ...giteaHeaders('pull_request', giteaBody, undefined), 'x-gitea-signature': 'zz' })],
    ];
    const statuses = Object.fromEntries(await Promise.all(attempts.map(async ([name, sent]) => [name, (await sent).status])));
    expect(statuses).toEqual({
      'github unsigned': 400,
      'github wrong secret': 400,
      'github tampered': 400,
      'github non-JSON': 400,
      'github form type': 415,
      'github oversize': 413,
      'gitea unsigned': 401,
      'gitea wrong secret': 401,
      'gitea tampered': 401,
      'gitea non-JSON': 400,
      'gitea form type': 415,
      'gitea oversize': 413,
      'gitea malformed signature': 401,
    });
    await app.idle();
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(await seeder.status(giteaPreview.id)).toBe('HEALTHY');
    expect(local.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).not.toContain('Preview removed');
  });

  it('retries deletes the platform refuses with 503 and succeeds', async () => {
    const preview = await seeder.preview(REPO_A, 'pr-2');
    local.faults.add({ route: 'deployments.delete', status: 503, times: 2 });

    expect((await deliverGithub()).status).toBe(200);
    await app.idle();

    expect(await seeder.status(preview.id)).toBe('DELETED');
    expect(local.requests.filter((request) => request.route === 'deployments.delete').map((request) => request.status)).toEqual([503, 503, 200]);
    expect(logs.messages().filter((line) => /attempt \d of 5 failed; retrying/.test(line.msg))).toHaveLength(2);
    expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).toContain('Preview removed');
  });

  it('leaves a preview the platform keeps refusing for the sweep, which removes it once the platform recovers', async () => {
    const preview = await seeder.preview(REPO_A, 'pr-2');
    const openPr = await seeder.preview(REPO_B, 'pr-2');
    const unattributed = await seeder.preview(undefined, 'pr-9');
    local.faults.add({ route: 'deployments.delete', status: 503, times: 1000 });

    expect((await deliverGithub()).status).toBe(200);
    await app.idle();
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    const failure = logs.messages().find((line) => line.level === 50 && /left for the sweep/.test(line.msg));
    expect(failure).toMatchObject({ attempt: 5, leftForSweep: true });
    expect(failure?.id).toBeTruthy();
    expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).not.toContain('Preview removed');

    local.faults.clear();
    github.closePullRequest('Codertocat', 'Hello-World', 2, { merged: true });

    const dryRun = await app.sweepOnce(true);
    expect(dryRun.dryRun).toBe(true);
    expect(dryRun.wouldDelete.map((item) => item.deploymentId)).toEqual([preview.id]);
    expect(dryRun.wouldDelete[0]).toMatchObject({ repo: REPO_A.toLowerCase(), pullNumber: 2, reason: 'pull request #2 is closed' });
    expect(dryRun.deleted).toEqual([]);
    expect(Object.fromEntries(dryRun.kept.map((item) => [item.deploymentId, item.reason]))).toEqual({
      [openPr.id]: 'pull request #2 is open',
      [unattributed.id]: 'nothing records which repository deployed it',
    });
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(logs.text).toContain(`would delete preview ${preview.id}`);

    const sweep = await app.sweepOnce(false);
    expect(sweep.deleted.map((item) => item.deploymentId)).toEqual([preview.id]);
    expect(await seeder.status(preview.id)).toBe('DELETED');
    expect(await seeder.status(openPr.id)).toBe('HEALTHY');
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');
    expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).toContain('Preview removed');
    expect(github.deployments('Codertocat', 'Hello-World')[0].statuses.at(-1)?.state).toBe('inactive');

    const again = await app.sweepOnce(false);
    expect(again.deleted).toEqual([]);
  });

  it('removes branch previews when the branch is deleted, only where previews are labelled by branch', async () => {
    const mine = await seeder.preview(REPO_A, 'simple-tag');
    const theirs = await seeder.preview(REPO_B, 'simple-tag');
    const body = JSON.stringify({ ...(await githubExample('delete')), ref_type: 'branch' });

    // Labels are pr-{number} by default: a deleted branch has no previews of its own.
    expect((await post(`${app.url}/api/github/webhooks`, body, githubHeaders('delete', body, WEBHOOK_SECRET))).status).toBe(200);
    await app.idle();
    expect(await seeder.status(mine.id)).toBe('HEALTHY');

    await deliverToBranchLabelledApp(body);
    expect(await seeder.status(mine.id)).toBe('DELETED');
    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
  });

  it('answers through the Lambda bridge with the same handler', async () => {
    const preview = await seeder.preview(REPO_A, 'pr-2');
    const handler = await createAppHandler({
      githubToken: GITHUB_TOKEN,
      webhookSecret: WEBHOOK_SECRET,
      githubBaseUrl: github.apiUrl,
      platformSettings: { platform: 'local', apiUrl: local.url, apiKey: API_KEY },
      writeSpacing: UNSPACED_WRITES,
      env: {},
      logStream: logs,
    });
    try {
      expect(await bridge(handler, { rawPath: '/healthz', requestContext: { http: { method: 'GET' } } })).toMatchObject({ statusCode: 200, body: '{"status":"ok"}' });
      const body = JSON.stringify(closedPayload);
      const unsigned = await bridge(handler, { httpMethod: 'POST', path: '/api/github/webhooks', headers: githubHeaders('pull_request', body, undefined), body });
      expect(unsigned.statusCode).toBe(400);
      const signed = await bridge(handler, {
        httpMethod: 'POST',
        path: '/api/github/webhooks',
        headers: githubHeaders('pull_request', body, WEBHOOK_SECRET),
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      });
      expect(signed.statusCode).toBe(200);
      await handler.idle();
    } finally {
      await handler.close();
    }
    expect(await seeder.status(preview.id)).toBe('DELETED');
  });

  it('signs with the secret, not with anything else: a delivery signed with the Gitea secret on the GitHub path is refused', async () => {
    const body = JSON.stringify(closedPayload);
    const response = await post(`${app.url}/api/github/webhooks`, body, {
      ...githubHeaders('pull_request', body, undefined),
      'x-hub-signature-256': `sha256=${hmacHex(GITEA_SECRET, body)}`,
    });
    expect(response.status).toBe(400);
  });

  describe("nothing is deleted on a delivery's word alone", () => {
    const giteaClosed = () => JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
    const reopen = () => {
      const pull = closedPayload.pull_request;
      github.seedPullRequest('Codertocat', 'Hello-World', { number: pull.number, headSha: pull.head.sha, headRef: pull.head.ref, state: 'open' });
      gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'open' });
    };

    it('a signed `closed` delivery for a PR the forge says is open deletes nothing (GitHub and Gitea)', async () => {
      reopen();
      const preview = await seeder.preview(REPO_A, 'pr-2');
      const giteaPreview = await seeder.preview(giteaRepo, 'pr-2');
      expect((await deliverGithub()).status).toBe(200);
      const body = giteaClosed();
      expect((await post(`${app.url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET))).status).toBe(202);
      await app.idle();

      expect(await seeder.status(preview.id)).toBe('HEALTHY');
      expect(await seeder.status(giteaPreview.id)).toBe('HEALTHY');
      expect(local.requests.filter((request) => request.route === 'deployments.delete')).toEqual([]);
      expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).not.toContain('Preview removed');
      expect(gitea.comments('gitea-org', 'agents', 2)[0].body).not.toContain('Preview removed');
      expect(github.requests.map((request) => `${request.method} ${request.path}`)).toContain('GET /repos/Codertocat/Hello-World/pulls/2');
      expect(gitea.requests.map((request) => `${request.method} ${request.path}`)).toContain('GET /api/v1/repos/gitea-org/agents/pulls/2');
      expect(logs.messages().filter((line) => /pull request #2 is open; nothing is deleted/.test(line.msg))).toHaveLength(2);
    });

    it('a replayed delivery deletes nothing: the same id or the same signed body is ignored, and another `closed` after a reopen finds the PR open', async () => {
      const first = await seeder.preview(REPO_A, 'pr-2');
      const giteaFirst = await seeder.preview(giteaRepo, 'pr-2');
      const githubBody = JSON.stringify(closedPayload);
      const githubCaptured = githubHeaders('pull_request', githubBody, WEBHOOK_SECRET);
      const giteaBody = giteaClosed();
      const giteaCaptured = giteaHeaders('pull_request', giteaBody, GITEA_SECRET);
      expect((await post(`${app.url}/api/github/webhooks`, githubBody, githubCaptured)).status).toBe(200);
      expect((await post(`${app.url}/api/gitea/webhooks`, giteaBody, giteaCaptured)).status).toBe(202);
      await app.idle();
      expect(await seeder.status(first.id)).toBe('DELETED');
      expect(await seeder.status(giteaFirst.id)).toBe('DELETED');

      // Reopened and redeployed; then the captured deliveries come back, as they were and with fresh ids.
      reopen();
      const second = await seeder.preview(REPO_A, 'pr-2');
      const giteaSecond = await seeder.preview(giteaRepo, 'pr-2');
      expect((await post(`${app.url}/api/github/webhooks`, githubBody, githubCaptured)).status).toBe(200);
      const giteaReplay = await post(`${app.url}/api/gitea/webhooks`, giteaBody, giteaCaptured);
      expect([giteaReplay.status, JSON.parse(giteaReplay.body)]).toEqual([200, { status: 'duplicate' }]);
      expect((await post(`${app.url}/api/github/webhooks`, githubBody, githubHeaders('pull_request', githubBody, WEBHOOK_SECRET))).status).toBe(200);
      const freshId = await post(`${app.url}/api/gitea/webhooks`, giteaBody, giteaHeaders('pull_request', giteaBody, GITEA_SECRET));
      expect([freshId.status, JSON.parse(freshId.body)]).toEqual([200, { status: 'duplicate' }]);
      // A close the forge signed afresh (another body) is served, and the forge says the PR is open.
      const otherBody = JSON.stringify({ ...closedPayload, sender: { ...closedPayload.sender, login: 'someone-else' } });
      expect((await post(`${app.url}/api/github/webhooks`, otherBody, githubHeaders('pull_request', otherBody, WEBHOOK_SECRET))).status).toBe(200);
      await app.idle();

      expect(await seeder.status(second.id)).toBe('HEALTHY');
      expect(await seeder.status(giteaSecond.id)).toBe('HEALTHY');
      expect(logs.messages().filter((line) => /was already received; ignored/.test(line.msg))).toHaveLength(4);
      expect(logs.messages().filter((line) => /pull request #2 is open; nothing is deleted/.test(line.msg))).toHaveLength(1);
    });

    it('a Gitea delivery naming a repository GITEA_URL does not serve at that address is refused and deletes nothing', async () => {
      const preview = await seeder.preview(REPO_A, 'pr-2');
      const payload = giteaPullRequestClosed(gitea.url, 'Codertocat', 'Hello-World', 2, { ref: 'french', sha: 'c'.repeat(40) });
      payload.repository.html_url = 'https://github.com/Codertocat/Hello-World';
      const body = JSON.stringify(payload);
      const delivery = await post(`${app.url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET));
      expect(delivery.status).toBe(202);
      await app.idle();
      const refusal = logs
        .messages()
        .find((line) => line.level === 50 && /names https:\/\/github.com\/Codertocat\/Hello-World, but .* serves Codertocat\/Hello-World not at all/.test(line.msg));
      expect(refusal).toMatchObject({ leftForSweep: false });
      expect(await seeder.status(preview.id)).toBe('HEALTHY');
      expect(local.requests.filter((request) => request.route === 'deployments.delete')).toEqual([]);
      expect(github.comments('Codertocat', 'Hello-World', 2)[0].body).not.toContain('Preview removed');
    });

    it('a `delete` delivery for a branch that still exists deletes nothing', async () => {
      const preview = await seeder.preview(REPO_A, 'simple-tag');
      github.seedRepo('Codertocat', 'Hello-World', { branches: ['simple-tag'] });
      const body = JSON.stringify({ ...(await githubExample('delete')), ref_type: 'branch' });
      await deliverToBranchLabelledApp(body);
      expect(await seeder.status(preview.id)).toBe('HEALTHY');
      expect(logs.text).toMatch(/branch simple-tag still exists; nothing is deleted/);
    });
  });

  it('refuses to start with a blank webhook secret, for GitHub and for Gitea', async () => {
    const base = { local, apiKey: API_KEY, githubBaseUrl: github.apiUrl, logStream: logs };
    for (const blank of [' ', '\n\t']) {
      await expect(startTestApp({ ...base, githubToken: GITHUB_TOKEN, webhookSecret: blank })).rejects.toThrow(/WEBHOOK_SECRET/);
      await expect(startTestApp({ ...base, gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: blank } })).rejects.toThrow(/GITEA_WEBHOOK_SECRET is blank/);
    }
  });
});
