/**
 * A preview run that the PR outruns (issue 17 items 6 and 7): the action bundle, run as a runner
 * does, over real HTTP against the local platform on a clock the test moves and the test forges.
 * The platform holds the deployment in progress until the test moves the clock, so the PR closes,
 * or a newer commit takes it, while the deployment is still coming up.
 */
import { ManualClock } from '../support/clock.js';
import { usePreviewEnv } from '../support/preview-env.js';
import type { ActionRun } from '../support/runner.js';
import { stickyBody } from '../integration/app/fixtures.js';

const API_KEY = 'sk-e2e-race-Qm41Zt8RwX2c';
const TOKEN = 'ghs_e2eRaceToken0123456789abcdefgh';
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

describe.each(['github', 'gitea'] as const)('a preview run the pull request outruns (%s)', (flavor) => {
  let clock: ManualClock;
  /** Called each time the platform has answered a request. */
  let platformAnswered: () => void = () => {};
  const env = usePreviewEnv({
    apiKey: API_KEY,
    token: TOKEN,
    flavor,
    repo: { owner: 'acme', name: 'agents', defaultBranch: 'main' },
    pull: { number: 5, headSha: SHA_A, headRef: 'change' },
    local: () => {
      clock = new ManualClock();
      return { clock, log: () => platformAnswered() };
    },
  });

  function runFor(headSha: string, action: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
    return env.run(env.pullRequestEvent(action, headSha, { number: 5 }), inputs);
  }

  /** A run for PR 5 whose PR closes once its deployment exists, and before it is healthy. */
  async function closedWhileDeploying(): Promise<ActionRun> {
    const running = runFor(SHA_A, 'opened');
    await advanceUntil(running, () => env.local.deployments().length > 0);
    env.forge.closePullRequest('acme', 'agents', 5);
    return finish(running);
  }

  /** Every comment on the PR, as one text. */
  function commentsOnPull(): string {
    return env.forge
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

  it('a PR closed while its deployment is still in progress leaves nothing running, and nothing says ready', async () => {
    const run = await closedWhileDeploying();

    expect(run.outputs.status).toBe('closed');
    expect(env.local.deployments().map((deployment) => deployment.status)).toEqual(['DELETED']);
    expect(run.summary).not.toContain('Ready');
    expect(run.log).toContain(`removed its own preview deployment ${env.local.deployments()[0].id}`);
    expect(commentsOnPull()).not.toContain('Ready');
  });

  it('a PR closed while it deploys, whose own deployment cannot be deleted, fails the step and names what still runs', async () => {
    // Refused outright (a key that may deploy but not delete), so no retry can succeed.
    env.local.faults.add({ route: 'deployments.delete', status: 403, times: Infinity });
    const run = await closedWhileDeploying();

    const [deployment] = env.local.deployments();
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
    // The comment an earlier push's run left on the PR.
    env.forge.seedComment('acme', 'agents', 5, { body: stickyBody('pr-5'), user: flavor === 'github' ? 'github-actions[bot]' : 'gitea-actions' });
    const running = runFor(SHA_A, 'synchronize');
    await advanceUntil(running, () => env.local.deployments().length > 0);
    env.forge.closePullRequest('acme', 'agents', 5);
    // The close workflow runs while the deployment is still coming up (the platform's clock stands still).
    const close = await runFor(SHA_A, 'closed');
    expect(close.outputs.status).toBe('removed');
    expect(commentsOnPull()).toContain('Preview removed');

    const run = await finish(running);
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('closed');
    expect(run.log).toContain(`its preview deployment ${env.local.deployments()[0].id} was removed meanwhile`);
    expect(commentsOnPull()).toContain('Preview removed');
    expect(commentsOnPull()).not.toContain('Failed');
  });

  it('a PR closed after the run began but before it deploys gets no deployment at all', async () => {
    const pullRead = /^GET .*\/repos\/acme\/agents\/pulls\/5$/;
    // The run's first look finds the PR open; by its next one, the PR has closed.
    env.forge.beforeNext(pullRead, () => {});
    env.forge.beforeNext(pullRead, () => env.forge.closePullRequest('acme', 'agents', 5));
    const run = await finish(runFor(SHA_A, 'opened'));

    expect(run.outputs.status).toBe('closed');
    expect(env.local.deployments()).toEqual([]);
    expect(run.log).toContain('no preview was created');
    expect(commentsOnPull()).not.toContain('Ready');
  });

  it("two runs finishing out of order leave the newer commit's preview, and the older run removes its own", async () => {
    env.forge.setPullRequestHead('acme', 'agents', 5, SHA_B);
    const newer = await finish(runFor(SHA_B, 'synchronize'));
    expect(newer.outputs.status).toBe('healthy');

    // The older run began while its commit was still the PR's head: the forge shows it so until that
    // run has created its deployment, and the newer commit again from the run's next look on.
    env.forge.setPullRequestHead('acme', 'agents', 5, SHA_A);
    const running = runFor(SHA_A, 'synchronize', { redeploy: 'always' });
    await advanceUntil(running, () => env.local.deployments().length > 1);
    env.forge.beforeNext(/^GET .*\/repos\/acme\/agents\/pulls\/5$/, () => env.forge.setPullRequestHead('acme', 'agents', 5, SHA_B));
    const older = await finish(running);

    expect(older.outputs.status).toBe('superseded');
    const olderDeployment = env.local.deployments().find((deployment) => deployment.id !== newer.outputs['deployment-id'])!;
    expect(await env.deploymentStatus(olderDeployment.id)).toBe('DELETED');
    expect(await env.deploymentStatus(newer.outputs['deployment-id'])).toBe('HEALTHY');
    const comments = env.forge.comments('acme', 'agents', 5);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(SHA_B.slice(0, 7));
    expect(comments[0].body).not.toContain(SHA_A.slice(0, 7));
  });
});
