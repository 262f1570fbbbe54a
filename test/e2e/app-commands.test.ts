/**
 * Issue 26 through the committed app bundle (`dist/app/index.js`, run as its own process and
 * configured by its environment alone), on both doors: a GitHub App on a GHES-shaped test forge and
 * a Gitea served under a sub-path, over real HTTP, with the app on the local platform's Agentex API
 * and Agentex server. Reviewers' `/preview` comments do what they say and are answered in the thread;
 * anyone who cannot push is refused and nothing runs; bots, edited comments, forged and replayed
 * deliveries do nothing.
 */
import { randomUUID } from 'node:crypto';
import { resolvePreviewLabel } from '../../src/pipeline/label.js';
import { parseSourceRepo } from '../../src/pipeline/source-repo.js';
import { AgentexPlatform } from '../../src/platforms/agentex/agentex.js';
import type { Deployment } from '../../src/platforms/platform.js';
import { githubExample, post, startAppProcess, stickyBody, type AppProcess, type Json } from '../integration/app/fixtures.js';
import { removeAgentCopies } from '../support/agents.js';
import { useAppWorld, type Door } from '../support/app-world.js';
import { conversingAgent, deployPreview, githubCommentPayload, giteaCommentPayload } from '../support/commands.js';
import type { TestComment } from '../support/forge/server.js';
import { until } from '../support/wait.js';
import { redisTestPlan, startRedisServer } from '../integration/app/redis-server.js';

const HEAD = 'c'.repeat(40);
const NEWER = 'd'.repeat(40);

let platform: AgentexPlatform;
let agentDir: string;
let commentExample: Json;

const world = useAppWorld({
  name: 'commands',
  before: async () => {
    const { local, keys } = world;
    platform = new AgentexPlatform({ name: 'local', baseUrl: local.url, agentexUrl: local.url, apiKey: keys.apiKey, accountId: 'acct-local', deploymentsCarryUrl: true, env: {} });
    agentDir = await conversingAgent();
    commentExample = await githubExample('issue_comment', 'created');
  },
  env: () => ({ AGENTEX_BASE_URL: world.local.url, COMMAND_POLL_INTERVAL: '50ms' }),
});
const { forgeOf } = world;

afterAll(() => removeAgentCopies());

/** Who the app writes as on each door: the GitHub App's bot, Gitea's token user. */
const appLogin = (door: Door) => (door === 'github' ? 'agent-preview[bot]' : 'gitea-actions');

interface Pull {
  door: Door;
  owner: string;
  repo: string;
  number: number;
  label: string;
  preview: Deployment;
}

let nextRepo = 1;

/** A repository with an open pull request at HEAD, alice who may push and bob who may only read, the sticky comment, and the PR's preview. */
async function openPull(door: Door): Promise<Pull> {
  const forge = forgeOf(door);
  const owner = 'acme';
  const repo = `agents-${door}-${nextRepo++}`;
  forge.seedRepo(owner, repo);
  forge.seedPullRequest(owner, repo, { number: 7, headSha: HEAD, headRef: 'feature' });
  forge.seedCollaborator(owner, repo, 'alice', 'write');
  forge.seedCollaborator(owner, repo, 'bob', 'read');
  forge.seedComment(owner, repo, 7, { body: stickyBody('pr-7'), user: appLogin(door) });
  const sourceRepo = world.sourceRepo(door, owner, repo);
  const label = resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', platform.labelRule, parseSourceRepo(sourceRepo)).label;
  const preview = await deployPreview(platform, agentDir, { sourceRepo, commit: HEAD, label });
  return { door, owner, repo, number: 7, label, preview };
}

interface Sent {
  comment: TestComment;
  status: number;
  body: string;
  headers: Record<string, string>;
  raw: string;
}

/** Writes a comment on the forge as `user`, then delivers it, signed, to the app's door (changed first by `change`). */
async function say(pull: Pull, user: string, text: string, options: { action?: 'created' | 'edited'; secret?: string; change?: (payload: Json) => void } = {}): Promise<Sent> {
  const forge = forgeOf(pull.door);
  const comment = forge.seedComment(pull.owner, pull.repo, pull.number, { body: text, user });
  const delivery = {
    owner: pull.owner,
    repo: pull.repo,
    htmlUrl: `${forge.url}/${pull.owner}/${pull.repo}`,
    number: pull.number,
    comment: { id: comment.id, body: text, user },
    action: options.action,
  };
  const payload = pull.door === 'github' ? githubCommentPayload(commentExample, delivery, world.keys.installationId) : giteaCommentPayload(delivery);
  options.change?.(payload);
  const raw = JSON.stringify(payload);
  return { comment, ...(await world.deliver(pull.door, 'issue_comment', raw, { secret: options.secret })), raw };
}

/** The app's answers on the pull request, oldest first. */
const answers = (pull: Pull) =>
  forgeOf(pull.door)
    .comments(pull.owner, pull.repo, pull.number)
    .filter((comment) => comment.user.login === appLogin(pull.door) && comment.body.startsWith('> '))
    .map((comment) => comment.body);

/** Waits for the app's `count`-th answer on the pull request. */
const answered = (pull: Pull, count: number) =>
  until(
    async () => answers(pull),
    (list) => list.length >= count,
    30_000,
  );

const reactionsOn = (pull: Pull, comment: TestComment) =>
  forgeOf(pull.door)
    .reactions(comment.id)
    .filter((reaction) => reaction.user.login === appLogin(pull.door))
    .map((reaction) => reaction.content);

/** The app's reactions once it has finished with the comment (🚀 or 😕 given). */
const finished = (pull: Pull, comment: TestComment) =>
  until(
    async () => reactionsOn(pull, comment),
    (list) => list.includes('rocket') || list.includes('confused'),
    30_000,
  );

const healthy = async (pull: Pull) => (await platform.listDeployments({ previewLabel: pull.label })).filter((deployment) => deployment.phase === 'healthy');

describe.each(['github', 'gitea'] as const)('/preview commands through the app bundle (%s door)', (door) => {
  it('help and an unknown command answer with the list, quoting the command, with 👀 then 🚀 or 😕', async () => {
    const pull = await openPull(door);
    const help = await say(pull, 'alice', '/preview help');
    expect(help.status).toBe(door === 'github' ? 200 : 202);
    expect(await finished(pull, help.comment)).toEqual(['eyes', 'rocket']);
    const unknown = await say(pull, 'alice', '/preview deploy');
    expect(await finished(pull, unknown.comment)).toEqual(['eyes', 'confused']);
    const [helpAnswer, unknownAnswer] = await answered(pull, 2);
    expect(helpAnswer).toMatch(/^> \/preview help\n/);
    expect(helpAnswer).toContain('| `/preview redeploy [agent]` |');
    expect(unknownAnswer).toContain('is not a /preview command');
  });

  it('ask continues one conversation across two comments, and answers with the reply and its latency', async () => {
    const pull = await openPull(door);
    await say(pull, 'alice', '/preview ask Hello there');
    await answered(pull, 1);
    await say(pull, 'alice', '/preview ask hello-agent What did I say?');
    const [first, second] = await answered(pull, 2);
    expect(first).toContain('turn 1: Hello there (previous: )');
    expect(first).toMatch(/answered in \d+\.\d s/);
    expect(second).toContain('turn 2: What did I say? (previous: Hello there)');
    expect(second).toContain('Your conversation with hello-agent so far (2 turns)');
  });

  it('extend moves the expiry the platform reports', async () => {
    const pull = await openPull(door);
    const was = Date.parse(pull.preview.expiresAt!);
    const sent = await say(pull, 'alice', '/preview extend 3h');
    expect(await finished(pull, sent.comment)).toEqual(['eyes', 'rocket']);
    const [live] = await healthy(pull);
    expect(live.id).not.toBe(pull.preview.id);
    expect(Date.parse(live.expiresAt!) - was).toBeGreaterThanOrEqual(3 * 3_600_000);
    expect((await answered(pull, 1))[0]).toContain(`expires at ${live.expiresAt!.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC`);
  });

  it('redeploy deploys the head again, and after the pull request moved on says so instead', async () => {
    const pull = await openPull(door);
    const first = await say(pull, 'alice', '/preview redeploy');
    expect(await finished(pull, first.comment)).toEqual(['eyes', 'rocket']);
    const [redeployed] = await healthy(pull);
    expect(redeployed.id).not.toBe(pull.preview.id);

    forgeOf(door).setPullRequestHead(pull.owner, pull.repo, pull.number, NEWER);
    const second = await say(pull, 'alice', '/preview redeploy');
    expect(await finished(pull, second.comment)).toEqual(['eyes', 'confused']);
    expect((await answered(pull, 2))[1]).toContain("the pull request's head is `ddddddd`: deploying it would deploy an older commit");
    expect((await healthy(pull)).map((deployment) => deployment.id)).toEqual([redeployed.id]);
  });

  it('destroy removes the previews now, and the sticky comment says so as on close', async () => {
    const pull = await openPull(door);
    const sent = await say(pull, 'alice', '/preview destroy');
    expect(await finished(pull, sent.comment)).toEqual(['eyes', 'rocket']);
    expect(await healthy(pull)).toEqual([]);
    expect((await answered(pull, 1))[0]).toContain(`Removed 1 preview of this pull request: \`${pull.preview.id}\``);
    expect(forgeOf(door).comments(pull.owner, pull.repo, pull.number)[0].body).toContain('🧹 Preview removed');
  });

  it('from someone who cannot push, a polite refusal and nothing runs; from a bot or in an edited comment, nothing at all', async () => {
    const pull = await openPull(door);
    const refused = await say(pull, 'bob', '/preview destroy');
    expect((await answered(pull, 1))[0]).toContain('only people who can push to this repository');
    const bot = await say(pull, door === 'github' ? 'renovate[bot]' : appLogin(door), '/preview destroy');
    const edited = await say(pull, 'alice', '/preview destroy', { action: 'edited' });
    // Commands of one pull request run in order: once this one is answered, the ones before it are done.
    const later = await say(pull, 'alice', '/preview help');
    await finished(pull, later.comment);
    expect(answers(pull)).toHaveLength(2);
    for (const sent of [refused, bot, edited]) expect(reactionsOn(pull, sent.comment)).toEqual([]);
    expect((await healthy(pull)).map((deployment) => deployment.id)).toEqual([pull.preview.id]);
  });

  it('a forged delivery is refused, and a replayed one does nothing', async () => {
    const pull = await openPull(door);
    const forged = await say(pull, 'alice', '/preview destroy', { secret: 'not-the-webhook-secret-at-all' });
    expect(forged.status).toBe(door === 'github' ? 400 : 401);
    const help = await say(pull, 'alice', '/preview help');
    await finished(pull, help.comment);
    // The same signed body again, under a fresh delivery id (GitHub does not sign it) or as it was.
    const freshId = randomUUID();
    const replayHeaders = door === 'github' ? { ...help.headers, 'x-github-delivery': freshId } : { ...help.headers, 'x-gitea-delivery': freshId };
    const replayed = await post(`${world.app.url}/api/${door}/webhooks`, help.raw, replayHeaders);
    expect(replayed.status).toBe(200);
    const later = await say(pull, 'alice', '/preview help');
    await finished(pull, later.comment);
    expect(answers(pull)).toHaveLength(2);
    expect((await healthy(pull)).map((deployment) => deployment.id)).toEqual([pull.preview.id]);
  });
});

const redisPlan = redisTestPlan();
const describeWithRedis = redisPlan.run ? describe : describe.skip;

describeWithRedis(redisPlan.run ? 'with REDIS_URL' : `with REDIS_URL (skipped: ${'skip' in redisPlan ? redisPlan.skip : ''})`, () => {
  it("a reviewer's conversation continues after the app restarts", async () => {
    const redis = await startRedisServer();
    const env = { ...world.giteaEnv(), AGENTEX_BASE_URL: world.local.url, REDIS_URL: redis.url };
    const pull = await openPull('gitea');
    const sendTo = async (target: AppProcess, text: string) => {
      const { gitea } = world;
      const comment = gitea.seedComment(pull.owner, pull.repo, pull.number, { body: text, user: 'alice' });
      const raw = JSON.stringify(
        giteaCommentPayload({
          owner: pull.owner,
          repo: pull.repo,
          htmlUrl: `${gitea.url}/${pull.owner}/${pull.repo}`,
          number: pull.number,
          comment: { id: comment.id, body: text, user: 'alice' },
        }),
      );
      expect((await world.deliver('gitea', 'issue_comment', raw, { to: target })).status).toBe(202);
    };
    let replica = await startAppProcess(env);
    try {
      await sendTo(replica, '/preview ask Remember me');
      await answered(pull, 1);
      replica.kill('SIGTERM');
      await replica.exited;
      replica = await startAppProcess(env);
      await sendTo(replica, '/preview ask Who am I?');
      expect((await answered(pull, 2))[1]).toContain('turn 2: Who am I? (previous: Remember me)');
    } finally {
      replica.kill('SIGTERM');
      await replica.exited;
      await redis.close();
    }
  });
});
