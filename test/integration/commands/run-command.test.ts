/**
 * One `/preview` command at a time, run as the app runs it (`runCommand`), with each door's own
 * forge access (GitHub through Probot's client, Gitea with its token) against the strict test
 * forges and the local platform, over real HTTP. The doors and the queue are the e2e tests' part
 * (test/e2e/app-commands.test.ts).
 */
import { pino } from 'pino';
import { Probot } from 'probot';
import { githubAccessFor } from '../../../src/app/github.js';
import { appOctokit } from '../../../src/app/octokit.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { giteaAccessFor } from '../../../src/app/gitea.js';
import { RefusalMemory } from '../../../src/commands/confirm.js';
import { conversationKey, MemoryConversationStore } from '../../../src/commands/conversations.js';
import type { CommandJob } from '../../../src/commands/job.js';
import { parseCommand } from '../../../src/commands/parse.js';
import { runCommand, type CommandAccessFor, type CommandTaskOptions } from '../../../src/commands/run.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { parseSourceRepo } from '../../../src/pipeline/source-repo.js';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import type { Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { removeAgentCopies } from '../../support/agents.js';
import { conversingAgent, deployPreview } from '../../support/commands.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { stickyBody } from '../app/fixtures.js';

const API_KEY = 'sk-commands-integration-4Qe8';
const TOKEN = 'forge-token-commands-71b2a9';
const HEAD = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);
type Door = 'github' | 'gitea';

let local: LocalPlatform;
let platform: AgentexPlatform;
let agentDir: string;
const forges = {} as Record<Door, TestForge>;
const access = {} as Record<Door, CommandAccessFor>;
const lines: Record<string, any>[] = [];
const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });

beforeAll(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 5, deployStepMs: 5 });
  platform = new AgentexPlatform({
    name: 'local',
    baseUrl: local.url,
    agentexUrl: local.url,
    apiKey: API_KEY,
    accountId: 'acct-local',
    deploymentsCarryUrl: true,
    env: {},
    retry: { retries: 0 },
  });
  agentDir = await conversingAgent();
  forges.github = await startTestForge({ flavor: 'github', users: { [TOKEN]: 'preview-bot' } });
  forges.gitea = await startTestForge({ flavor: 'gitea', token: TOKEN });
  // GitHub's writes unspaced: the test forge has no secondary rate limits.
  const { Octokit } = await appOctokit({ writeSpacing: UNSPACED_WRITES, onError: () => undefined });
  const probot = new Probot({ githubToken: TOKEN, baseUrl: forges.github.apiUrl, secret: 'whsec-commands-integration-0001', log, Octokit });
  access.github = githubAccessFor(probot, { githubHost: new URL(forges.github.url).host, asApp: false });
  access.gitea = giteaAccessFor({ url: forges.gitea.url, token: TOKEN, webhookSecret: 'whsec-commands-integration-0002' });
});

afterAll(async () => {
  await Promise.all([local.close(), forges.github.close(), forges.gitea.close()]);
  await removeAgentCopies();
  clearSecrets();
});

let nextPull = 1;

/** A repository with an open pull request at HEAD, a collaborator who may push (alice) and one who may only read (bob), and its preview. */
async function setUp(door: Door): Promise<{ owner: string; repo: string; number: number; preview: Deployment; label: string; sourceRepo: string }> {
  const forge = forges[door];
  const owner = 'acme';
  const repo = `agents-${door}-${nextPull}`;
  const number = nextPull++;
  forge.seedRepo(owner, repo);
  forge.seedPullRequest(owner, repo, { number, headSha: HEAD, headRef: 'feature' });
  forge.seedCollaborator(owner, repo, 'alice', 'write');
  forge.seedCollaborator(owner, repo, 'bob', 'read');
  const sourceRepo = `${forge.url.replace(/^https?:\/\//, '')}/${owner}/${repo}`.toLowerCase();
  const label = resolvePreviewLabel(undefined, { number }, 'preview-label', platform.labelRule, parseSourceRepo(sourceRepo)).label;
  const preview = await deployPreview(platform, agentDir, { sourceRepo, commit: HEAD, label });
  // The sticky comment the action left, written as the app's token writes.
  forge.seedComment(owner, repo, number, { body: stickyBody(label), user: ours(door) });
  return { owner, repo, number, preview, label, sourceRepo };
}

const options: CommandTaskOptions = {
  accessFor: (origin, signal) => access[origin.door](origin, signal),
  platformFor: () => platform,
  conversations: new MemoryConversationStore(),
  refusals: new RefusalMemory(),
  timing: { pollIntervalMs: 10, deployTimeoutMs: 30_000, askTimeoutMs: 15_000 },
};

/** Writes the comment on the forge as `user`, then runs the command a delivery of it carries (its `line` as delivered, unless given). */
async function comment(door: Door, where: { owner: string; repo: string; number: number }, user: string, body: string, delivered?: string): Promise<{ id: number }> {
  const forge = forges[door];
  const written = forge.seedComment(where.owner, where.repo, where.number, { body, user });
  const job: CommandJob = {
    door,
    deliveryId: `delivery-${written.id}`,
    repository: { owner: where.owner, name: where.repo, htmlUrl: `${forge.url}/${where.owner}/${where.repo}` },
    number: where.number,
    comment: { id: written.id, author: user, line: delivered ?? parseCommand(body)!.line },
  };
  await runCommand(job, log, options, AbortSignal.timeout(60_000));
  return written;
}

const replies = (door: Door, where: { owner: string; repo: string; number: number }) =>
  forges[door]
    .comments(where.owner, where.repo, where.number)
    .filter((c) => c.body.startsWith('> '))
    .map((c) => c.body);
const reactions = (door: Door, id: number) => forges[door].reactions(id).map((r) => `${r.content}:${r.user.login}`);
/** The reply's text outside its fenced blocks (a fence closes only with a run of backticks as long as it opened with). */
function outsideFences(text: string): string {
  const kept: string[] = [];
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const fence = /^(`{3,})/.exec(line)?.[1];
    if (open === undefined && fence) open = fence;
    else if (open !== undefined && line.trim() === open) open = undefined;
    else if (open === undefined) kept.push(line);
  }
  return kept.join('\n');
}

const ours = (door: Door) => (door === 'github' ? 'preview-bot' : 'gitea-actions');

describe.each(['github', 'gitea'] as const)('/preview commands, run against the %s test forge and the local platform', (door) => {
  it('help answers with the list, quoting the command, with 👀 then 🚀', async () => {
    const pr = await setUp(door);
    const { id } = await comment(door, pr, 'alice', '/preview help\nthanks!');
    const [reply] = replies(door, pr);
    expect(reply).toMatch(/^> \/preview help\n/);
    expect(reply).toContain('`/preview ask [agent] <message>`');
    expect(reactions(door, id)).toEqual([`eyes:${ours(door)}`, `rocket:${ours(door)}`]);
  });

  it('from someone who cannot push: a polite refusal once, and nothing runs', async () => {
    const pr = await setUp(door);
    const first = await comment(door, pr, 'bob', '/preview destroy');
    await comment(door, pr, 'bob', '/preview destroy');
    await comment(door, pr, 'mallory', '/preview destroy');
    expect(replies(door, pr)).toHaveLength(2);
    expect(replies(door, pr)[0]).toContain('only people who can push to this repository');
    expect(reactions(door, first.id)).toEqual([]);
    expect((await platform.getDeployment(pr.preview.id)).phase).toBe('healthy');
  });

  it('ignores a bot (ours included), an edited comment and a comment the delivery misdescribes', async () => {
    const pr = await setUp(door);
    await comment(door, pr, ours(door), '/preview destroy');
    await comment(door, pr, 'alice', '/preview help', '/preview destroy');
    expect(replies(door, pr)).toEqual([]);
    expect((await platform.getDeployment(pr.preview.id)).phase).toBe('healthy');
    expect(lines.filter((line) => /ignored: .*(bot|edited)/.test(String(line.msg))).length).toBeGreaterThanOrEqual(2);
  });

  it('ask continues one conversation per reviewer across comments', async () => {
    const pr = await setUp(door);
    await comment(door, pr, 'alice', '/preview ask Hello there');
    await comment(door, pr, 'alice', '/preview ask hello-agent What did I say?');
    const [first, second] = replies(door, pr);
    expect(first).toContain('turn 1: Hello there (previous: )');
    expect(second).toContain('turn 2: What did I say? (previous: Hello there)');
    expect(second).toContain('Your conversation with hello-agent so far (2 turns)');
  });

  it('ask starts a new conversation, and says so, when the platform no longer has the earlier one', async () => {
    const pr = await setUp(door);
    await comment(door, pr, 'alice', '/preview ask Hello there');
    // The server lost the task (a restart, say): the kept id names a task it does not know.
    const key = conversationKey({ door, repo: pr.sourceRepo, number: pr.number, agent: 'hello-agent', reviewer: 'alice' });
    await options.conversations.set(key, { ...(await options.conversations.get(key))!, sessionId: 'task-that-is-gone' });
    await comment(door, pr, 'alice', '/preview ask Are you there?');
    expect(replies(door, pr)[1]).toContain('your earlier conversation \\(task-that-is-gone\\) is gone');
    expect(replies(door, pr)[1]).toContain('turn 1: Are you there? (previous: )');
  });

  it('extend moves the expiry the platform reports, by a redeploy that replaces the preview', async () => {
    const pr = await setUp(door);
    const was = Date.parse(pr.preview.expiresAt!);
    await comment(door, pr, 'alice', '/preview extend 2h');
    expect(replies(door, pr)[0]).toContain('Extended by 2h');
    const live = (await platform.listDeployments({ previewLabel: pr.label })).filter((d) => d.phase === 'healthy');
    expect(live).toHaveLength(1);
    expect(live[0].id).not.toBe(pr.preview.id);
    expect(Date.parse(live[0].expiresAt!) - was).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect((await platform.getDeployment(pr.preview.id)).phase).toBe('deleted');
  });

  it("redeploy deploys the head's build again, and says so instead when the pull request moved on", async () => {
    const pr = await setUp(door);
    await comment(door, pr, 'alice', '/preview redeploy');
    expect(replies(door, pr)[0]).toContain('Redeployed');
    const [redeployed] = (await platform.listDeployments({ previewLabel: pr.label })).filter((d) => d.phase === 'healthy');
    expect(redeployed.id).not.toBe(pr.preview.id);

    forges[door].setPullRequestHead(pr.owner, pr.repo, pr.number, NEWER);
    const { id } = await comment(door, pr, 'alice', '/preview redeploy hello-agent');
    expect(replies(door, pr)[1]).toContain("but the pull request's head is `bbbbbbb`");
    expect((await platform.listDeployments({ previewLabel: pr.label })).filter((d) => d.phase === 'healthy').map((d) => d.id)).toEqual([redeployed.id]);
    expect(reactions(door, id)).toEqual([`eyes:${ours(door)}`, `confused:${ours(door)}`]);
  });

  it('destroy removes the previews now and says so in the sticky comment too', async () => {
    const pr = await setUp(door);
    await comment(door, pr, 'alice', '/preview destroy');
    expect(replies(door, pr)[0]).toContain('Removed 1 preview');
    expect((await platform.getDeployment(pr.preview.id)).phase).toBe('deleted');
    expect(forges[door].comments(pr.owner, pr.repo, pr.number)[0].body).toContain('🧹 Preview removed');
  });

  it("shows an agent's reply as text only: fenced, no mention, no HTML outside the fence", async () => {
    const pr = await setUp(door);
    const hostile = 'hi @octocat <img src=x onerror=alert(1)> ```` </details> ::set-output name=x::y';
    await comment(door, pr, 'alice', `/preview ask ${hostile}`);
    const [reply] = replies(door, pr);
    const outside = outsideFences(reply);
    expect(outside).not.toMatch(/@octocat|<img|<\/details>\s*$/m);
    expect(reply).toContain(`turn 1: ${hostile}`);
  });

  it("never touches another repository's preview under the same label", async () => {
    const pr = await setUp(door);
    const theirs = await deployPreview(platform, agentDir, { sourceRepo: 'github.com/other/repo', commit: HEAD, label: pr.label });
    await comment(door, pr, 'alice', '/preview extend 1h');
    await comment(door, pr, 'alice', '/preview destroy');
    expect(await platform.getDeployment(theirs.id)).toMatchObject({ phase: 'healthy', expiresAt: theirs.expiresAt });
    expect(replies(door, pr)[1]).toContain('record another repository and were left alone');
  });

  it('an unknown command answers with the list and 😕', async () => {
    const pr = await setUp(door);
    const { id } = await comment(door, pr, 'alice', '/preview deploy now');
    expect(replies(door, pr)[0]).toContain('is not a /preview command');
    expect(reactions(door, id)).toEqual([`eyes:${ours(door)}`, `confused:${ours(door)}`]);
  });
});
