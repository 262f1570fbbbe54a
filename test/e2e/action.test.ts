import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { PreviewSeeder } from '../integration/app/fixtures.js';
import { HELLO_AGENT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { exampleEvent, pullRequestEvent, runActionBundle, shownText, type ActionRun } from '../support/runner.js';

const API_KEY = 'sk-e2e-Kq81LmZ0pW3xYv7T';
const TOKEN = 'ghs_e2eToken0123456789abcdefABCDEF';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';

type Json = Record<string, any>;

let local: LocalPlatform;
const capturedText: string[] = [];
/** Everything the runs wrote to the forge: comment bodies and status descriptions and URLs. */
const forgeTexts: string[] = [];

function runAction(forge: TestForge, event: Json, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): Promise<ActionRun> {
  return runActionBundle(
    { forge, platformUrl: local.url, apiKey: API_KEY, token: TOKEN, repository: `${OWNER}/${REPO}`, workspace, captured: capturedText },
    event,
    inputs,
    extraEnv,
  );
}

let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'ap-workspace-'));
  await cp(HELLO_AGENT, path.join(workspace, 'agents', 'hello'), { recursive: true });
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
  // `::add-mask::` is the runner's own masking command: the runner consumes it and shows nothing.
  const shown = shownText(capturedText);
  expect(capturedText.join('\n')).toContain(`::add-mask::${API_KEY}`);
  const leaks = [...shown, ...forgeTexts].filter((text) => text.includes(API_KEY) || text.includes(TOKEN));
  expect(leaks).toEqual([]);
});

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 30, deployStepMs: 40 });
});

afterEach(async () => {
  await local.close();
});

async function livePreviews(label: string): Promise<Json[]> {
  const response = await fetch(`${local.url}/v5/agentex/deployments?preview_label=${label}`, { headers: { 'x-api-key': API_KEY } });
  const items = ((await response.json()) as { items: Json[] }).items;
  return items.filter((deployment) => !['DELETED', 'SUPERSEDED'].includes(String(deployment.status)));
}

function buildCount(): Promise<number> {
  return fetch(`${local.url}/v5/builds?agent_name=hello-agent`, { headers: { 'x-api-key': API_KEY } })
    .then((response) => response.json())
    .then((body) => (body as { items: unknown[] }).items.length);
}

describe.each(['github', 'gitea'] as const)('the action bundle on %s', (flavor) => {
  let forge: TestForge;
  beforeEach(async () => {
    forge = await startTestForge({ flavor, token: TOKEN });
    forge.seedRepo(OWNER, REPO, { defaultBranch: 'master' });
  });
  afterEach(async () => {
    forgeTexts.push(JSON.stringify(forge.comments(OWNER, REPO, 2)), JSON.stringify(forge.deployments(OWNER, REPO)));
    await forge.close();
  });

  it('first push comments and deploys, a second push updates the same comment and reuses the build, closing tears down', async () => {
    const gitea = flavor === 'gitea';
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'a'.repeat(40), headRef: 'changes', baseRef: 'master' });

    const first = await runAction(forge, pullRequestEvent('opened', 'a'.repeat(40), { gitea }), {});
    expect(first.log).not.toMatch(/::error::/);
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({ status: 'healthy', 'build-reused': 'false' });
    // The label names the PR and, in a short hash, the repository: pr-2-<hash>.
    const label = first.outputs['preview-label'];
    expect(label).toMatch(/^pr-2-[0-9a-f]{12}$/);
    expect(first.outputs['preview-url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/previews\//);
    expect(JSON.parse(first.outputs.agents)).toHaveLength(1);
    expect(first.log).toContain('::group::agent hello-agent');
    expect((await fetch(first.outputs['preview-url'])).status).toBe(200);
    const comments = forge.comments(OWNER, REPO, 2);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(STICKY_MARKER);
    expect(comments[0].body).toContain(first.outputs['preview-url']);
    expect(first.summary).toContain('hello-agent');
    if (gitea) {
      const statuses = forge.commitStatuses(OWNER, REPO, 'a'.repeat(40)).filter((status) => status.context === `preview/${label}`);
      expect(statuses.at(-1)).toMatchObject({ state: 'success', target_url: first.outputs['preview-url'] });
    } else {
      const [deployment] = forge.deployments(OWNER, REPO);
      expect(deployment).toMatchObject({ sha: 'a'.repeat(40), environment: `preview/${label}`, transient_environment: true });
      expect(deployment.statuses.map((status: Json) => status.state)).toEqual(['in_progress', 'success']);
      expect(deployment.statuses.at(-1)!.environment_url).toBe(first.outputs['preview-url']);
    }

    forge.setPullRequestHead(OWNER, REPO, 2, 'b'.repeat(40));
    const second = await runAction(forge, pullRequestEvent('synchronize', 'b'.repeat(40), { gitea }), {});
    expect(second.code).toBe(0);
    // Nothing in the agent changed: its live preview is kept and reported as unchanged, with its URL.
    expect(second.outputs).toMatchObject({
      status: 'unchanged',
      'build-reused': 'true',
      'build-id': first.outputs['build-id'],
      'deployment-id': first.outputs['deployment-id'],
      'preview-url': first.outputs['preview-url'],
    });
    expect(await buildCount()).toBe(1);
    const after = forge.comments(OWNER, REPO, 2);
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(comments[0].id);
    expect(after[0].body).toContain('bbbbbbb');
    expect(after[0].body).toContain('Unchanged');
    expect(after[0].body).toContain(first.outputs['preview-url']);

    // Asked to deploy again: the build is reused, a new preview replaces the old one.
    const again = await runAction(forge, pullRequestEvent('synchronize', 'b'.repeat(40), { gitea }), { REDEPLOY: 'always' });
    expect(again.code).toBe(0);
    expect(again.outputs).toMatchObject({ status: 'healthy', 'build-reused': 'true', 'build-id': first.outputs['build-id'] });
    expect(again.outputs['deployment-id']).not.toBe(first.outputs['deployment-id']);
    expect((await livePreviews(label)).map((d) => d.id)).toEqual([again.outputs['deployment-id']]);

    forge.closePullRequest(OWNER, REPO, 2, { merged: true });
    const closed = await runAction(forge, pullRequestEvent('closed', 'b'.repeat(40), { gitea }), {});
    expect(closed.code).toBe(0);
    expect(closed.outputs.status).toBe('removed');
    expect(await livePreviews(label)).toEqual([]);
    expect(forge.comments(OWNER, REPO, 2)[0].body).toContain('Preview removed');
    if (gitea) {
      // The head commit's status no longer advertises the deleted preview's URL.
      const statuses = forge.commitStatuses(OWNER, REPO, 'b'.repeat(40));
      expect(statuses.at(-1)).toMatchObject({ state: 'success', description: 'preview removed', context: `preview/${label}` });
      expect(statuses.at(-1)!.target_url || '').toBe('');
    } else {
      for (const deployment of forge.deployments(OWNER, REPO)) expect(deployment.statuses.at(-1)!.state).toBe('inactive');
    }
    expect(forge.requests.some((request: { path: string }) => request.path.includes('graphql'))).toBe(false);
  });

  it('two concurrent runs on one PR leave one comment', async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'c'.repeat(40), headRef: 'changes', baseRef: 'master' });
    const event = pullRequestEvent('synchronize', 'c'.repeat(40), { gitea: flavor === 'gitea' });
    const runs = await Promise.all([runAction(forge, event, {}), runAction(forge, event, {})]);
    for (const run of runs) expect(run.code).toBe(0);
    expect(forge.comments(OWNER, REPO, 2).filter((comment: { body: string }) => comment.body.includes(STICKY_MARKER))).toHaveLength(1);
  });

  it('a fork PR without secrets passes with a notice and builds nothing', async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'd'.repeat(40), headRef: 'changes', baseRef: 'master', headRepoFullName: 'forker/Hello-World' });
    const run = await runAction(forge, pullRequestEvent('opened', 'd'.repeat(40), { fork: true, gitea: flavor === 'gitea' }), { 'API-KEY': '', PLATFORM: 'agentex' });
    expect(run.code).toBe(0);
    expect(run.log).toMatch(/::notice::.*fork/);
    expect(run.outputs.status).toBe('skipped');
    expect(local.requests).toHaveLength(0);
    expect(forge.comments(OWNER, REPO, 2)).toHaveLength(0);
  });

  it('a push to the default branch deploys for real; a push elsewhere only builds', async () => {
    const push = exampleEvent('push');
    push.ref = 'refs/heads/master';
    push.after = '1'.repeat(40);
    const env = { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/master', GITHUB_SHA: '1'.repeat(40) };
    const deployed = await runAction(forge, push, {}, env);
    expect(deployed.code).toBe(0);
    expect(deployed.outputs).toMatchObject({ status: 'healthy', 'preview-label': '' });
    const real = local.deployments().find((deployment) => deployment.id === deployed.outputs['deployment-id'])!;
    expect(real).toMatchObject({ preview: false, status: 'HEALTHY' });

    const feature = { ...push, ref: 'refs/heads/feature' };
    const built = await runAction(forge, feature, {}, { ...env, GITHUB_REF: 'refs/heads/feature' });
    expect(built.code).toBe(0);
    expect(built.outputs).toMatchObject({ status: 'built', 'build-reused': 'true', 'deployment-id': '' });
    expect(local.deployments()).toHaveLength(1);
  });

  it('a crashing deploy fails the step naming agent and phase, with logs in the job log and the comment', async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: '9'.repeat(40), headRef: 'changes', baseRef: 'master' });
    const broken = await mkdtemp(path.join(tmpdir(), 'ap-broken-'));
    await cp(HELLO_AGENT, path.join(broken, 'agents', 'hello'), { recursive: true });
    const dockerfile = path.join(broken, 'agents', 'hello', 'Dockerfile');
    await writeFile(dockerfile, `${await readFile(dockerfile, 'utf8')}\n# local-platform: crash\n`);
    const saved = workspace;
    workspace = broken;
    try {
      const run = await runAction(forge, pullRequestEvent('opened', '9'.repeat(40), { gitea: flavor === 'gitea' }), {});
      expect(run.code).toBe(1);
      expect(run.log).toMatch(/::error::hello-agent: deploy failed: deployment \S+ ended FAILED/);
      expect(run.log).toContain('Traceback (most recent call last)');
      expect(run.log).toMatch(/BackOff/);
      expect(run.outputs.status).toBe('failed');
      const [comment] = forge.comments(OWNER, REPO, 2);
      expect(comment.body).toContain('❌ Failed');
      expect(comment.body).toMatch(/<details><summary>hello-agent: deploy failed<\/summary>/);
      expect(comment.body).toContain("ModuleNotFoundError: No module named 'agentex'");
    } finally {
      workspace = saved;
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('an older run whose PR head moved on stops without deploying', async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'f'.repeat(40), headRef: 'changes', baseRef: 'master' });
    const run = await runAction(forge, pullRequestEvent('synchronize', 'e'.repeat(40), { gitea: flavor === 'gitea' }), {});
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('superseded');
    expect(await livePreviews(run.outputs['preview-label'])).toEqual([]);
  });
});

describe('repository isolation on one platform account', () => {
  let forge: TestForge;
  beforeEach(async () => {
    forge = await startTestForge({ flavor: 'github', token: TOKEN });
    forge.seedRepo(OWNER, REPO, { defaultBranch: 'master' });
  });
  afterEach(async () => {
    forgeTexts.push(JSON.stringify(forge.comments(OWNER, REPO, 5)));
    await forge.close();
  });

  it("a push replaces and a close removes only this repository's previews of the label, never another repository's with the same agent", async () => {
    const host = new URL(forge.url).host;
    const seeder = new PreviewSeeder(local, API_KEY);
    // Previews labelled as earlier versions did (pr-5, without the repository's hash).
    const otherRepos = await seeder.preview(`${host}/someone-else/Hello-World`, 'pr-5');
    const unattributed = await seeder.preview(undefined, 'pr-5');
    forge.seedPullRequest(OWNER, REPO, { number: 5, headSha: 'a'.repeat(40), headRef: 'changes', baseRef: 'master' });

    const opened = await runAction(forge, pullRequestEvent('opened', 'a'.repeat(40), { number: 5 }), {});
    expect(opened.code).toBe(0);
    expect(opened.outputs.status).toBe('healthy');
    // This run's label is its own (pr-5-<hash>): a push replaces nothing labelled otherwise.
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');
    expect(await seeder.status(otherRepos.id)).toBe('HEALTHY');

    forge.closePullRequest(OWNER, REPO, 5);
    const closed = await runAction(forge, pullRequestEvent('closed', 'a'.repeat(40), { number: 5 }), {});
    expect(closed.code).toBe(0);
    // Records decide: the other repository's preview is named and left alone, and the old-style one that
    // records no repository is kept and named (its agent's name proves nothing: any repository may use it).
    expect(closed.outputs.status).toBe('kept');
    expect(closed.log).toContain(`1 deleted, 0 already gone, 1 of other repositories left alone (${otherRepos.id}); still running: ${unattributed.id} (hello-agent)`);
    expect(await seeder.status(opened.outputs['deployment-id'])).toBe('DELETED');
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');
    expect(await seeder.status(otherRepos.id)).toBe('HEALTHY');
  });
});
