/**
 * A preview run that the PR outruns (issue 17 items 6 and 7): the action bundle, run as a runner
 * does, over real HTTP against the local platform on a clock the test moves and the test forges.
 * The platform holds the deployment in progress until the test moves the clock, so the PR closes,
 * or a newer commit takes it, while the deployment is still coming up.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { clearSecrets } from '../../src/secrets/redact.js';
import { HELLO_AGENT } from '../support/agents.js';
import { ManualClock } from '../support/clock.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { pullRequestEvent, runActionBundle, shownText, type ActionRun } from '../support/runner.js';
import { stickyBody } from '../integration/app/fixtures.js';

const API_KEY = 'sk-e2e-race-Qm41Zt8RwX2c';
const TOKEN = 'ghs_e2eRaceToken0123456789abcdefgh';
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

type Json = Record<string, any>;

let workspace: string;
const captured: string[] = [];

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'ap-race-'));
  await cp(HELLO_AGENT, path.join(workspace, 'agents', 'hello'), { recursive: true });
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
  expect(shownText(captured).filter((text) => text.includes(API_KEY) || text.includes(TOKEN))).toEqual([]);
  clearSecrets();
});

describe.each(['github', 'gitea'] as const)('a preview run the pull request outruns (%s)', (flavor) => {
  let clock: ManualClock;
  let local: LocalPlatform;
  let forge: TestForge;
  /** Called each time the platform has answered a request. */
  let platformAnswered: () => void = () => {};

  beforeEach(async () => {
    clock = new ManualClock();
    local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 30, clock, log: () => platformAnswered() });
    forge = await startTestForge({ flavor, token: TOKEN });
    forge.seedRepo('acme', 'agents', { defaultBranch: 'main' });
  });

  afterEach(async () => {
    await forge.close();
    await local.close();
  });

  function runFor(headSha: string, action: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
    return runActionBundle(
      { forge, platformUrl: local.url, apiKey: API_KEY, token: TOKEN, repository: 'acme/agents', workspace, captured },
      pullRequestEvent(action, headSha, { number: 5, gitea: flavor === 'gitea' }),
      inputs,
    );
  }

  /** A run for PR 5 whose PR closes once its deployment exists, and before it is healthy. */
  async function closedWhileDeploying(): Promise<ActionRun> {
    const running = runFor(SHA_A, 'opened');
    await advanceUntil(running, () => local.deployments().length > 0);
    forge.closePullRequest('acme', 'agents', 5);
    return finish(running);
  }

  /** Every comment on the PR, as one text. */
  function commentsOnPull(): string {
    return forge
      .comments('acme', 'agents', 5)
      .map((comment) => comment.body)
      .join('\n');
  }

  /**
   * Moves the platform's clock a step each time the platform has answered the run, until `done`
   * holds or the run ends: the clock follows the run, however slow the machine is.
   */
  async function advanceUntil(running: Promise<ActionRun>, done: () => boolean = () => false): Promise<void> {
    let ended = false;
    void running.finally(() => (ended = true));
    while (!done() && !ended) {
      const answered = new Promise<void>((resolve) => (platformAnswered = resolve));
      clock.advance(20);
      await Promise.race([answered, running]);
    }
  }

  async function finish(running: Promise<ActionRun>): Promise<ActionRun> {
    await advanceUntil(running);
    return running;
  }

  async function statusOf(id: string): Promise<string> {
    const response = await fetch(`${local.url}/v5/agentex/deployments/${id}`, { headers: { 'x-api-key': API_KEY } });
    return String(((await response.json()) as Json).status).toUpperCase();
  }

  it('a PR closed while its deployment is still in progress leaves nothing running, and nothing says ready', async () => {
    forge.seedPullRequest('acme', 'agents', { number: 5, headSha: SHA_A, headRef: 'change', baseRef: 'main' });
    const run = await closedWhileDeploying();

    expect(run.outputs.status).toBe('closed');
    expect(local.deployments().map((deployment) => deployment.status)).toEqual(['DELETED']);
    expect(run.summary).not.toContain('Ready');
    expect(run.log).toContain(`removed its own preview deployment ${local.deployments()[0].id}`);
    expect(commentsOnPull()).not.toContain('Ready');
  });

  it('a PR closed while it deploys, whose own deployment cannot be deleted, fails the step and names what still runs', async () => {
    forge.seedPullRequest('acme', 'agents', { number: 5, headSha: SHA_A, headRef: 'change', baseRef: 'main' });
    // Refused outright (a key that may deploy but not delete), so no retry can succeed.
    local.faults.add({ route: 'deployments.delete', status: 403, times: Infinity });
    const run = await closedWhileDeploying();

    const [deployment] = local.deployments();
    expect(deployment.status).not.toBe('DELETED');
    expect(run.code).not.toBe(0);
    expect(run.outputs.status).toBe('failed');
    expect(run.log).toContain(`its preview deployment ${deployment.id} is still running`);
    expect(
      run.commands
        .filter((command) => command.name === 'error')
        .map((command) => command.data)
        .join('\n'),
    ).toContain(deployment.id);
    expect(run.log).not.toContain('removed its own preview');
    expect(run.summary).not.toContain('Ready');
  });

  it("a close that removes the preview while the run waits for it to be healthy: the run ends closed, and the close's comment stands", async () => {
    forge.seedPullRequest('acme', 'agents', { number: 5, headSha: SHA_A, headRef: 'change', baseRef: 'main' });
    // The comment an earlier push's run left on the PR.
    forge.seedComment('acme', 'agents', 5, { body: stickyBody('pr-5'), user: flavor === 'github' ? 'github-actions[bot]' : 'gitea-actions' });
    const running = runFor(SHA_A, 'synchronize');
    await advanceUntil(running, () => local.deployments().length > 0);
    forge.closePullRequest('acme', 'agents', 5);
    // The close workflow runs while the deployment is still coming up (the platform's clock stands still).
    const close = await runFor(SHA_A, 'closed');
    expect(close.outputs.status).toBe('removed');
    expect(commentsOnPull()).toContain('Preview removed');

    const run = await finish(running);
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('closed');
    expect(run.log).toContain(`its preview deployment ${local.deployments()[0].id} was removed meanwhile`);
    expect(commentsOnPull()).toContain('Preview removed');
    expect(commentsOnPull()).not.toContain('Failed');
  });

  it('a PR closed after the run began but before it deploys gets no deployment at all', async () => {
    forge.seedPullRequest('acme', 'agents', { number: 5, headSha: SHA_A, headRef: 'change', baseRef: 'main' });
    const pullRead = /^GET .*\/repos\/acme\/agents\/pulls\/5$/;
    // The run's first look finds the PR open; by its next one, the PR has closed.
    forge.beforeNext(pullRead, () => {});
    forge.beforeNext(pullRead, () => forge.closePullRequest('acme', 'agents', 5));
    const run = await finish(runFor(SHA_A, 'opened'));

    expect(run.outputs.status).toBe('closed');
    expect(local.deployments()).toEqual([]);
    expect(run.log).toContain('no preview was created');
    expect(commentsOnPull()).not.toContain('Ready');
  });

  it("two runs finishing out of order leave the newer commit's preview, and the older run removes its own", async () => {
    forge.seedPullRequest('acme', 'agents', { number: 5, headSha: SHA_B, headRef: 'change', baseRef: 'main' });
    const newer = await finish(runFor(SHA_B, 'synchronize'));
    expect(newer.outputs.status).toBe('healthy');

    // The older run began while its commit was still the PR's head: the forge shows it so until that
    // run has created its deployment, and the newer commit again from the run's next look on.
    forge.setPullRequestHead('acme', 'agents', 5, SHA_A);
    const running = runFor(SHA_A, 'synchronize', { redeploy: 'always' });
    await advanceUntil(running, () => local.deployments().length > 1);
    forge.beforeNext(/^GET .*\/repos\/acme\/agents\/pulls\/5$/, () => forge.setPullRequestHead('acme', 'agents', 5, SHA_B));
    const older = await finish(running);

    expect(older.outputs.status).toBe('superseded');
    const olderDeployment = local.deployments().find((deployment) => deployment.id !== newer.outputs['deployment-id'])!;
    expect(await statusOf(olderDeployment.id)).toBe('DELETED');
    expect(await statusOf(newer.outputs['deployment-id'])).toBe('HEALTHY');
    const comments = forge.comments('acme', 'agents', 5);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(SHA_B.slice(0, 7));
    expect(comments[0].body).not.toContain(SHA_A.slice(0, 7));
  });
});
