/**
 * Whose preview is it (issue 17): the action bundle, run as a runner does, and the webhook app, over
 * real HTTP against the local platform and test forges. Each repository's close removes exactly its
 * own previews, and nothing says "removed" while a preview still runs.
 */
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { giteaAppEnv, giteaHeaders, giteaPullRequestClosed, post, PreviewSeeder, startAppProcess, until, type AppProcess } from '../integration/app/fixtures.js';
import type { ForgeFlavor } from '../support/forge/server.js';
import { repositoryAs } from '../support/payload-repository.js';
import { usePreviewEnv, type PreviewEnv } from '../support/preview-env.js';
import { pullRequestEvent, type ActionRun } from '../support/runner.js';

const API_KEY = 'sk-e2e-owner-Vb52Kq0LmZ7w';
const TOKEN = 'ghs_e2eOwnershipToken0123456789abcd';
const GITEA_SECRET = 'whsec-gitea-owner-31c9a0';

type Json = Record<string, any>;

interface RepoUnderTest {
  owner: string;
  repo: string;
  /** The repository's web address as the forge builds it (its ROOT_URL), which payloads carry. */
  webUrl: string;
}

/** A pull_request event of this repository, as the forge sends it. */
function eventFor(target: RepoUnderTest, action: string, headSha: string, number: number, flavor: ForgeFlavor): Json {
  const event = pullRequestEvent(action, headSha, { number, gitea: flavor === 'gitea' });
  const repository = repositoryAs(event.repository, target.owner, target.repo, target.webUrl);
  event.repository = repository;
  event.pull_request.base.repo = repository;
  event.pull_request.head.repo = repository;
  return event;
}

/** The action's run for this repository's event, on the test's platform and env.forge. */
function runFor(env: PreviewEnv, target: RepoUnderTest, event: Json, extraEnv: NodeJS.ProcessEnv = {}): Promise<ActionRun> {
  return env.run(event, {}, { repository: `${target.owner}/${target.repo}`, env: extraEnv });
}

/** The environment of the action's runs: the local platform and a forge with acme/agents (and `pull` open on it). */
function ownershipEnv(options: { flavor?: ForgeFlavor; pull?: { number: number; headSha: string } } = {}): PreviewEnv {
  return usePreviewEnv({
    apiKey: API_KEY,
    token: TOKEN,
    flavor: options.flavor,
    repo: { owner: 'acme', name: 'agents', defaultBranch: 'main' },
    pull: options.pull && { ...options.pull, headRef: 'change' },
  });
}

describe.each(['github', 'gitea'] as const)('two repositories with the same agent and tree on one account (%s)', (flavor) => {
  const env = ownershipEnv({ flavor, pull: { number: 5, headSha: 'a'.repeat(40) } });
  let repoA: RepoUnderTest;
  let repoB: RepoUnderTest;
  beforeEach(() => {
    repoA = { owner: 'acme', repo: 'agents', webUrl: `${env.forge.url}/acme/agents` };
    repoB = { owner: 'acme', repo: 'agents-mirror', webUrl: `${env.forge.url}/acme/agents-mirror` };
    env.forge.seedRepo(repoB.owner, repoB.repo, { defaultBranch: 'main' });
    env.forge.seedPullRequest(repoB.owner, repoB.repo, { number: 5, headSha: 'a'.repeat(40), headRef: 'change', baseRef: 'main' });
  });

  it("each repository's close removes exactly its own preview, never the other's, and says so truthfully", async () => {
    const deployedA = await runFor(env, repoA, eventFor(repoA, 'opened', 'a'.repeat(40), 5, flavor));
    expect(deployedA.outputs.status).toBe('healthy');
    const deployedB = await runFor(env, repoB, eventFor(repoB, 'opened', 'a'.repeat(40), 5, flavor));
    expect(deployedB.outputs.status).toBe('healthy');

    env.forge.closePullRequest(repoA.owner, repoA.repo, 5);
    const closedA = await runFor(env, repoA, eventFor(repoA, 'closed', 'a'.repeat(40), 5, flavor));
    expect(closedA.code).toBe(0);
    expect(closedA.outputs.status).toBe('removed');
    expect(await env.deploymentStatus(deployedA.outputs['deployment-id'])).toBe('DELETED');
    expect(await env.deploymentStatus(deployedB.outputs['deployment-id'])).toBe('HEALTHY');

    env.forge.closePullRequest(repoB.owner, repoB.repo, 5);
    const closedB = await runFor(env, repoB, eventFor(repoB, 'closed', 'a'.repeat(40), 5, flavor));
    expect(closedB.code).toBe(0);
    expect(closedB.outputs.status).toBe('removed');
    expect(await env.deploymentStatus(deployedB.outputs['deployment-id'])).toBe('DELETED');
    expect(env.forge.comments(repoB.owner, repoB.repo, 5)[0].body).toContain('Preview removed');
    // The same tree, but a build records one repository: B got its own, and its own label.
    expect(deployedB.outputs['build-id']).not.toBe(deployedA.outputs['build-id']);
    expect(deployedB.outputs['preview-label']).not.toBe(deployedA.outputs['preview-label']);
  });
});

describe('a close that cannot delete the preview', () => {
  const env = ownershipEnv({ pull: { number: 9, headSha: 'd'.repeat(40) } });
  const target: RepoUnderTest = { owner: 'acme', repo: 'agents', webUrl: '' };
  beforeEach(() => {
    target.webUrl = `${env.forge.url}/acme/agents`;
  });

  it('fails the step, and the comment names what is still running instead of saying "removed"', async () => {
    const deployed = await runFor(env, target, eventFor(target, 'opened', 'd'.repeat(40), 9, 'github'));
    expect(deployed.outputs.status).toBe('healthy');
    const id = deployed.outputs['deployment-id'];
    env.local.faults.add({ route: 'deployments.delete', status: 500, times: 1000 });

    env.forge.closePullRequest(target.owner, target.repo, 9);
    const closed = await runFor(env, target, eventFor(target, 'closed', 'd'.repeat(40), 9, 'github'), { INPUT_TIMEOUT: '5s' });
    expect(closed.code).toBe(1);
    expect(closed.outputs.status).not.toBe('removed');
    expect(await env.deploymentStatus(id)).toBe('HEALTHY');
    const [comment] = env.forge.comments(target.owner, target.repo, 9);
    expect(comment.body).toContain(STICKY_MARKER);
    expect(comment.body).not.toContain('Preview removed');
    expect(comment.body).not.toContain('Ready');
    expect(comment.body).toContain('still running');
    expect(comment.body).toContain(id);
    expect(closed.log).toMatch(new RegExp(`::warning::.*still running: ${id}`));
    // The GitHub deployment still links a preview that still serves.
    expect(env.forge.deployments(target.owner, target.repo).at(-1)!.statuses.at(-1)!.state).toBe('success');
  });
});

describe.each([
  // act_runner registered at http://gitea:3000, while Gitea's ROOT_URL (what webhooks carry) is the address the app is given.
  ['the runner reaches Gitea at another address than ROOT_URL', '', undefined, 'http://gitea:3000'],
  // Gitea served under a sub-path; the runner and the app know it by that same address.
  ['Gitea is served under a sub-path', '/git', undefined, undefined],
  // ROOT_URL is the public address; the app and the runner reach Gitea inside the cluster, at another one.
  ['the app and the runner reach Gitea at another address than its ROOT_URL', '', 'https://git.example.com', undefined],
  // A Gitea under a sub-path behind a proxy: ROOT_URL https://example.com/gitea, reached directly at http://host:port/gitea.
  ['Gitea is under a sub-path behind a proxy whose address is its ROOT_URL', '/gitea', 'https://example.com/gitea', undefined],
])('Gitea, when %s: the action and the app bundle name the repository the same way', (_case, subPath, rootUrl, runnerUrl) => {
  let app: AppProcess;
  // Declared before the environment's: afterEach hooks run in the order they are declared, and the app stops before its platform and forge.
  afterEach(async () => {
    app.kill('SIGTERM');
    await app.exited;
    env.captured.push(app.logs.text);
  });
  const env = usePreviewEnv({
    apiKey: API_KEY,
    token: TOKEN,
    flavor: 'gitea',
    forge: { subPath, rootUrl },
    repo: { owner: 'gitea-org', name: 'agents', defaultBranch: 'main' },
    pull: { number: 2, headSha: 'c'.repeat(40), headRef: 'french' },
    secrets: () => [GITEA_SECRET],
  });
  beforeEach(async () => {
    app = await startAppProcess({ ...giteaAppEnv(env.forge, env.local, { apiKey: API_KEY, giteaToken: TOKEN, giteaSecret: GITEA_SECRET }), LOG_LEVEL: 'debug' });
  });

  it("the app's close removes the action's preview, and the commit status says removed without the dead link", async () => {
    // What webhooks and Actions events carry: addresses built from ROOT_URL.
    const webRoot = rootUrl ?? env.forge.url;
    const target: RepoUnderTest = { owner: 'gitea-org', repo: 'agents', webUrl: `${webRoot}/gitea-org/agents` };
    const deployed = await runFor(env, target, eventFor(target, 'opened', 'c'.repeat(40), 2, 'gitea'), { GITHUB_SERVER_URL: runnerUrl ?? env.forge.url });
    expect(deployed.outputs.status).toBe('healthy');

    env.forge.closePullRequest('gitea-org', 'agents', 2);
    const body = JSON.stringify(giteaPullRequestClosed(webRoot, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
    const delivery = await post(`${app.url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET));
    expect(delivery.status).toBe(202);
    const status = await until(
      async () => env.forge.commitStatuses('gitea-org', 'agents', 'c'.repeat(40)).at(-1),
      (latest) => latest?.description === 'preview removed',
      30_000,
    );

    expect(await env.deploymentStatus(deployed.outputs['deployment-id'])).toBe('DELETED');
    expect(env.forge.comments('gitea-org', 'agents', 2)[0].body).toContain('Preview removed');
    expect(status).toMatchObject({ state: 'success', description: 'preview removed' });
    expect(status!.target_url || '').toBe('');
  });
});

describe('labels made from templates', () => {
  const env = ownershipEnv();
  const target: RepoUnderTest = { owner: 'acme', repo: 'agents', webUrl: '' };
  beforeEach(() => {
    target.webUrl = `${env.forge.url}/acme/agents`;
  });

  it('two branches that sanitize alike ({branch}) keep their own previews', async () => {
    env.forge.seedPullRequest(target.owner, target.repo, { number: 3, headSha: '3'.repeat(40), headRef: 'feature/a', baseRef: 'main' });
    env.forge.seedPullRequest(target.owner, target.repo, { number: 4, headSha: '4'.repeat(40), headRef: 'feature-a', baseRef: 'main' });
    const slash = eventFor(target, 'opened', '3'.repeat(40), 3, 'github');
    slash.pull_request.head.ref = 'feature/a';
    const dash = eventFor(target, 'opened', '4'.repeat(40), 4, 'github');
    dash.pull_request.head.ref = 'feature-a';
    const first = await runFor(env, target, slash, { 'INPUT_PREVIEW-LABEL': '{branch}' });
    const second = await runFor(env, target, dash, { 'INPUT_PREVIEW-LABEL': '{branch}' });
    expect([first.outputs.status, second.outputs.status]).toEqual(['healthy', 'healthy']);
    expect(await env.deploymentStatus(first.outputs['deployment-id'])).toBe('HEALTHY');
    expect(first.outputs['preview-label']).not.toBe(second.outputs['preview-label']);
  });

  it('under a {sha} template, a close removes the previews of every push, lists by label and agent only, and leaves labels that merely share its hash', async () => {
    env.forge.seedPullRequest(target.owner, target.repo, { number: 7, headSha: '7'.repeat(40), headRef: 'seven', baseRef: 'main' });
    const inputs = { 'INPUT_PREVIEW-LABEL': 'pr-{number}-{sha}', 'INPUT_ONLY-CHANGED': 'false', INPUT_REDEPLOY: 'always' };
    const first = await runFor(env, target, eventFor(target, 'opened', '7'.repeat(40), 7, 'github'), inputs);
    env.forge.setPullRequestHead(target.owner, target.repo, 7, '8'.repeat(40));
    const second = await runFor(env, target, eventFor(target, 'synchronize', '8'.repeat(40), 7, 'github'), inputs);
    expect([first.outputs.status, second.outputs.status]).toEqual(['healthy', 'healthy']);
    // Previews of no recorded repository whose labels end like this PR's: in the hash, or in the hash and a commit.
    const label = second.outputs['preview-label'];
    const seeder = new PreviewSeeder(env.local, API_KEY);
    const strangers = await Promise.all([`zz-${label.split('-').at(-1)}`, `zz-${label.split('-').slice(-2).join('-')}`].map((stranger) => seeder.preview(undefined, stranger)));
    // Other previews on the account, as another repository's would be.
    for (let n = 0; n < 3; n++) await seeder.preview('github.com/elsewhere/agents', `pr-${n}`);

    env.forge.closePullRequest(target.owner, target.repo, 7);
    const listed = env.local.requests.length;
    const closed = await runFor(env, target, eventFor(target, 'closed', '8'.repeat(40), 7, 'github'), inputs);
    expect(closed.outputs.status).toBe('removed');
    expect(await env.deploymentStatus(first.outputs['deployment-id'])).not.toBe('HEALTHY');
    expect(await env.deploymentStatus(second.outputs['deployment-id'])).not.toBe('HEALTHY');
    for (const stranger of strangers) expect(await env.deploymentStatus(stranger.id)).toBe('HEALTHY');
    const lists = env.local.requests.slice(listed).filter((request) => request.route === 'deployments.list');
    expect(lists.filter((request) => !request.query.preview_label && !request.query.agent_name)).toEqual([]);
    // This version's label, the previous version's, the unhashed one, and the one agent's previews.
    expect(lists).toHaveLength(4);
  });
});
