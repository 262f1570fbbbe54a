import { renderRemovedComment, stickyMarker, STICKY_MARKER } from '../../../src/forge/comment.js';
import { getOctokit } from '@actions/github';
import { coreOctokit, createForge, type ForgeClientOptions, type OctokitFactory } from '../../../src/forge/client.js';
import { upsertStickyComment } from '../../../src/forge/sticky.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { startTestForge, type TestForge, type TestForgeOptions } from '../../support/forge/server.js';

const TOKEN = 'ghs_forgeTestJobToken7c1';
const PR = { owner: 'octo', repo: 'agents', number: 7 };
const HEAD = 'a'.repeat(40);

/**
 * The plugins' own waits, made short through their options: a rate-limit wait is `retryAfter` (in
 * seconds) times `retryAfterBaseValue`; writes are not spaced (`writeSpacing`).
 */
function shortWaits(): Pick<ForgeClientOptions, 'throttle' | 'retry' | 'writeSpacing'> {
  return { throttle: { retryAfterBaseValue: 5 }, retry: { retryAfterBaseValue: 5 }, writeSpacing: UNSPACED_WRITES };
}

let forge: TestForge | undefined;

async function start(options: Partial<TestForgeOptions> & Pick<TestForgeOptions, 'flavor'>): Promise<TestForge> {
  forge = await startTestForge({ token: TOKEN, ...options });
  forge.seedRepo(PR.owner, PR.repo);
  forge.seedPullRequest(PR.owner, PR.repo, { number: PR.number, headSha: HEAD, headRef: 'feature' });
  return forge;
}

function clientFor(test: TestForge, extra: Partial<ForgeClientOptions> = {}) {
  return createForge({ kind: test.flavor, apiUrl: test.apiUrl, token: TOKEN, ...shortWaits(), ...extra });
}

const body = (text: string, key?: string) => `${stickyMarker(key)}\n${text}`;

afterEach(async () => {
  await forge?.close();
  forge = undefined;
});

// The action's Octokit and the app's and the CLI's: the same options and plugins, built by two factories.
const OCTOKITS: [string, OctokitFactory][] = [
  ["@actions/github's getOctokit", getOctokit],
  ['@octokit/core', coreOctokit],
];

describe.each(OCTOKITS)('rate limits and transient failures (GitHub, %s)', (_name, octokit) => {
  it.each(['primary', 'secondary'] as const)('waits out a %s rate limit on creating the comment, then leaves exactly one comment', async (kind) => {
    const test = await start({ flavor: 'github' });
    test.rateLimitNext(/^POST .*\/issues\/7\/comments$/, kind);
    const notices: string[] = [];
    const result = await upsertStickyComment(clientFor(test, { octokit, onRetry: (notice) => notices.push(notice.reason) }), PR, body('ready'));
    expect(result.action).toBe('created');
    expect(test.comments(PR.owner, PR.repo, PR.number).map((comment) => comment.body)).toEqual([body('ready')]);
    expect(test.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/comments')).map((request) => request.status)).toEqual([403, 201]);
    expect(notices).toEqual([kind === 'primary' ? 'rate limit' : 'secondary rate limit']);
  });

  it('retries a 502 on creating the comment and on a deployment-status call', async () => {
    const test = await start({ flavor: 'github' });
    test.failNext(/^POST .*\/issues\/7\/comments$/, 502);
    test.failNext(/^POST .*\/deployments\/\d+\/statuses$/, 502);
    const client = clientFor(test, { octokit });
    await upsertStickyComment(client, PR, body('ready'));
    await client.setPreviewStatus(PR, { state: 'success', environment: 'preview/pr-7', sha: HEAD, url: 'https://preview.example/', description: 'preview ready' });
    expect(test.comments(PR.owner, PR.repo, PR.number)).toHaveLength(1);
    const [deployment] = test.deployments(PR.owner, PR.repo);
    expect(deployment.statuses.map((status) => status.state)).toEqual(['success']);
    expect(test.requests.filter((request) => request.method === 'POST').map((request) => request.status)).toEqual([502, 201, 201, 502, 201]);
  });

  it('fails a call that keeps failing, naming the call', async () => {
    const test = await start({ flavor: 'github' });
    test.failNext(/^GET .*\/pulls\/7$/, 503, 10);
    await expect(clientFor(test, { octokit, retry: { retries: 1, retryAfterBaseValue: 5 } }).getPullRequest(PR)).rejects.toThrow(
      /GET \/repos\/\{owner\}\/\{repo\}\/pulls\/\{pull_number\} \(get pull request\) failed with HTTP 503/,
    );
  });
});

describe('the sticky comment is ours alone', () => {
  it("never edits a person's comment that quotes the marker; writes its own", async () => {
    const test = await start({ flavor: 'github' });
    const human = test.seedComment(PR.owner, PR.repo, PR.number, { body: `Why does the bot write ${STICKY_MARKER}?`, user: 'octocat' });
    const result = await upsertStickyComment(clientFor(test), PR, body('ready'));
    const comments = test.comments(PR.owner, PR.repo, PR.number);
    expect(comments.find((comment) => comment.id === human.id)?.body).toBe(`Why does the bot write ${STICKY_MARKER}?`);
    expect(comments.filter((comment) => comment.user.login === 'github-actions[bot]').map((comment) => comment.body)).toEqual([body('ready')]);
    expect(result).toMatchObject({ action: 'created', removedDuplicates: [] });
  });

  it('creates a new comment when ours was deleted between the listing and the update', async () => {
    const test = await start({ flavor: 'github' });
    const client = clientFor(test);
    const first = await upsertStickyComment(client, PR, body('building'));
    test.beforeNext(/^PATCH .*\/issues\/comments\/\d+$/, () => {
      // A person deletes our comment; the real forge then answers 404 to the edit.
      test.replaceComments(PR.owner, PR.repo, PR.number, []);
    });
    const second = await upsertStickyComment(client, PR, body('ready'));
    expect(second.action).toBe('created');
    expect(second.commentId).not.toBe(first.commentId);
    expect(
      test
        .comments(PR.owner, PR.repo, PR.number)
        .filter((comment) => comment.user.login === 'github-actions[bot]')
        .map((comment) => comment.body),
    ).toEqual([body('ready')]);
  });

  it('keeps one comment per key: two workflows on one PR', async () => {
    const test = await start({ flavor: 'github' });
    const client = clientFor(test);
    await upsertStickyComment(client, PR, body('agents'));
    await upsertStickyComment(client, PR, body('docs', 'docs'), { key: 'docs' });
    await upsertStickyComment(client, PR, body('agents again'));
    await upsertStickyComment(client, PR, renderRemovedComment({ label: 'pr-7', platform: 'local', updatedAt: '2026-11-30T10:00:00Z', agents: [], commentKey: 'docs' }), {
      key: 'docs',
    });
    const bodies = test.comments(PR.owner, PR.repo, PR.number).map((comment) => comment.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toBe(body('agents again'));
    expect(bodies[1]).toMatch(/^<!-- agent-preview:sticky:docs -->\n[\s\S]*Preview removed/);
  });

  it("counts a personal token's own user as ours (GET /user)", async () => {
    const test = await start({ flavor: 'github', users: { ghp_personalToken9: 'deploy-bot' } });
    test.seedComment(PR.owner, PR.repo, PR.number, { body: body('old'), user: 'deploy-bot' });
    const client = createForge({ kind: 'github', apiUrl: test.apiUrl, token: 'ghp_personalToken9', ...shortWaits() });
    expect(await client.commentAuthors()).toEqual(['github-actions[bot]', 'deploy-bot']);
    expect((await upsertStickyComment(client, PR, body('new'))).action).toBe('updated');
    expect(test.comments(PR.owner, PR.repo, PR.number).map((comment) => comment.body)).toEqual([body('new')]);
  });
});

describe('forge addresses', () => {
  it('GitHub Enterprise Server: every call under /api/v3', async () => {
    const test = await start({ flavor: 'github', ghes: true });
    expect(test.apiUrl).toMatch(/\/api\/v3$/);
    const client = clientFor(test);
    await upsertStickyComment(client, PR, body('ready'), { headSha: HEAD });
    await client.setPreviewStatus(PR, { state: 'success', environment: 'preview/pr-7', sha: HEAD, description: 'preview ready' });
    expect(test.comments(PR.owner, PR.repo, PR.number)).toHaveLength(1);
    expect(test.deployments(PR.owner, PR.repo)).toHaveLength(1);
    expect(test.requests.every((request) => request.path.startsWith('/api/v3/'))).toBe(true);
  });

  it('Gitea: under /api/v1, comments listed in one call, the preview link a commit status', async () => {
    const test = await start({ flavor: 'gitea' });
    for (let i = 0; i < 60; i++) test.seedComment(PR.owner, PR.repo, PR.number, { body: `comment ${i}` });
    const client = clientFor(test);
    await upsertStickyComment(client, PR, body('ready'), { headSha: HEAD });
    await client.setPreviewStatus(PR, { state: 'in_progress', environment: 'preview/pr-7', sha: HEAD, description: 'deploying' });
    await client.deactivateEnvironment(PR, 'preview/pr-7');
    expect(test.comments(PR.owner, PR.repo, PR.number).filter((comment) => comment.user.login === 'gitea-actions')).toHaveLength(1);
    expect(test.commitStatuses(PR.owner, PR.repo, HEAD).map((status) => [status.state, status.context])).toEqual([['pending', 'preview/pr-7']]);
    expect(test.requests.every((request) => request.path.startsWith('/api/v1/'))).toBe(true);
    expect(test.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/comments'))).toHaveLength(2);
    expect(test.requests.some((request) => request.path.includes('/deployments'))).toBe(false);
  });
});
