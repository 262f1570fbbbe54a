import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { PreviewSeeder } from '../integration/app/fixtures.js';
import { HELLO_AGENT } from '../support/agents.js';
import { usePreviewEnv, type PreviewEnv } from '../support/preview-env.js';
import { exampleEvent } from '../support/runner.js';

const API_KEY = 'sk-e2e-Kq81LmZ0pW3xYv7T';
const TOKEN = 'ghs_e2eToken0123456789abcdefABCDEF';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';

type Json = Record<string, any>;

/** The platform's previews of a label that still run, read over its API. */
async function livePreviews(env: PreviewEnv, label: string): Promise<Json[]> {
  const response = await fetch(`${env.local.url}/v5/agentex/deployments?preview_label=${label}`, { headers: { 'x-api-key': API_KEY } });
  const items = ((await response.json()) as { items: Json[] }).items;
  return items.filter((deployment) => !['DELETED', 'SUPERSEDED'].includes(String(deployment.status)));
}

function buildCount(env: PreviewEnv): Promise<number> {
  return fetch(`${env.local.url}/v5/builds?agent_name=hello-agent`, { headers: { 'x-api-key': API_KEY } })
    .then((response) => response.json())
    .then((body) => (body as { items: unknown[] }).items.length);
}

describe.each(['github', 'gitea'] as const)('the action bundle on %s', (flavor) => {
  const env = usePreviewEnv({ apiKey: API_KEY, token: TOKEN, flavor });
  // `::add-mask::` is the runner's own masking command: the runner consumes it and shows nothing.
  afterAll(() => expect(env.captured.join('\n')).toContain(`::add-mask::${API_KEY}`));

  it('first push comments and deploys, a second push updates the same comment and reuses the build, closing tears down', async () => {
    env.openPullRequest({ number: 2, headSha: 'a'.repeat(40) });

    const first = await env.run(env.pullRequestEvent('opened', 'a'.repeat(40)));
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
    const comments = env.forge.comments(OWNER, REPO, 2);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(STICKY_MARKER);
    expect(comments[0].body).toContain(first.outputs['preview-url']);
    expect(first.summary).toContain('hello-agent');
    if (flavor === 'gitea') {
      const statuses = env.forge.commitStatuses(OWNER, REPO, 'a'.repeat(40)).filter((status) => status.context === `preview/${label}`);
      expect(statuses.at(-1)).toMatchObject({ state: 'success', target_url: first.outputs['preview-url'] });
    } else {
      const [deployment] = env.forge.deployments(OWNER, REPO);
      expect(deployment).toMatchObject({ sha: 'a'.repeat(40), environment: `preview/${label}`, transient_environment: true });
      expect(deployment.statuses.map((status: Json) => status.state)).toEqual(['in_progress', 'success']);
      expect(deployment.statuses.at(-1)!.environment_url).toBe(first.outputs['preview-url']);
    }

    env.forge.setPullRequestHead(OWNER, REPO, 2, 'b'.repeat(40));
    const second = await env.run(env.pullRequestEvent('synchronize', 'b'.repeat(40)));
    expect(second.code).toBe(0);
    // Nothing in the agent changed: its live preview is kept and reported as unchanged, with its URL.
    expect(second.outputs).toMatchObject({
      status: 'unchanged',
      'build-reused': 'true',
      'build-id': first.outputs['build-id'],
      'deployment-id': first.outputs['deployment-id'],
      'preview-url': first.outputs['preview-url'],
    });
    expect(await buildCount(env)).toBe(1);
    const after = env.forge.comments(OWNER, REPO, 2);
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(comments[0].id);
    expect(after[0].body).toContain('bbbbbbb');
    expect(after[0].body).toContain('Unchanged');
    expect(after[0].body).toContain(first.outputs['preview-url']);

    // Asked to deploy again: the build is reused, a new preview replaces the old one.
    const again = await env.run(env.pullRequestEvent('synchronize', 'b'.repeat(40)), { REDEPLOY: 'always' });
    expect(again.code).toBe(0);
    expect(again.outputs).toMatchObject({ status: 'healthy', 'build-reused': 'true', 'build-id': first.outputs['build-id'] });
    expect(again.outputs['deployment-id']).not.toBe(first.outputs['deployment-id']);
    expect((await livePreviews(env, label)).map((d) => d.id)).toEqual([again.outputs['deployment-id']]);

    env.forge.closePullRequest(OWNER, REPO, 2, { merged: true });
    const closed = await env.run(env.pullRequestEvent('closed', 'b'.repeat(40)));
    expect(closed.code).toBe(0);
    expect(closed.outputs.status).toBe('removed');
    expect(await livePreviews(env, label)).toEqual([]);
    expect(env.forge.comments(OWNER, REPO, 2)[0].body).toContain('Preview removed');
    if (flavor === 'gitea') {
      // The head commit's status no longer advertises the deleted preview's URL.
      const statuses = env.forge.commitStatuses(OWNER, REPO, 'b'.repeat(40));
      expect(statuses.at(-1)).toMatchObject({ state: 'success', description: 'preview removed', context: `preview/${label}` });
      expect(statuses.at(-1)!.target_url || '').toBe('');
    } else {
      for (const deployment of env.forge.deployments(OWNER, REPO)) expect(deployment.statuses.at(-1)!.state).toBe('inactive');
    }
    expect(env.forge.requests.some((request: { path: string }) => request.path.includes('graphql'))).toBe(false);
  });

  it('two concurrent runs on one PR leave one comment', async () => {
    env.openPullRequest({ number: 2, headSha: 'c'.repeat(40) });
    const event = env.pullRequestEvent('synchronize', 'c'.repeat(40));
    const runs = await Promise.all([env.run(event), env.run(event)]);
    for (const run of runs) expect(run.code).toBe(0);
    expect(env.forge.comments(OWNER, REPO, 2).filter((comment: { body: string }) => comment.body.includes(STICKY_MARKER))).toHaveLength(1);
  });

  it('a fork PR without secrets passes with a notice and builds nothing', async () => {
    env.openPullRequest({ number: 2, headSha: 'd'.repeat(40), headRepoFullName: 'forker/Hello-World' });
    const run = await env.run(env.pullRequestEvent('opened', 'd'.repeat(40), { fork: true }), { 'API-KEY': '', PLATFORM: 'agentex' });
    expect(run.code).toBe(0);
    expect(run.log).toMatch(/::notice::.*fork/);
    expect(run.outputs.status).toBe('skipped');
    expect(env.local.requests).toHaveLength(0);
    expect(env.forge.comments(OWNER, REPO, 2)).toHaveLength(0);
  });

  it('a push to the default branch deploys for real; a push elsewhere only builds', async () => {
    const push = exampleEvent('push');
    push.ref = 'refs/heads/master';
    push.after = '1'.repeat(40);
    const onPush = { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/master', GITHUB_SHA: '1'.repeat(40) };
    const deployed = await env.run(push, {}, { env: onPush });
    expect(deployed.code).toBe(0);
    expect(deployed.outputs).toMatchObject({ status: 'healthy', 'preview-label': '' });
    const real = env.local.deployments().find((deployment) => deployment.id === deployed.outputs['deployment-id'])!;
    expect(real).toMatchObject({ preview: false, status: 'HEALTHY' });

    const feature = { ...push, ref: 'refs/heads/feature' };
    const built = await env.run(feature, {}, { env: { ...onPush, GITHUB_REF: 'refs/heads/feature' } });
    expect(built.code).toBe(0);
    expect(built.outputs).toMatchObject({ status: 'built', 'build-reused': 'true', 'deployment-id': '' });
    expect(env.local.deployments()).toHaveLength(1);
  });

  it('a crashing deploy fails the step naming agent and phase, with logs in the job log and the comment', async () => {
    env.openPullRequest({ number: 2, headSha: '9'.repeat(40) });
    const broken = await mkdtemp(path.join(tmpdir(), 'ap-broken-'));
    await cp(HELLO_AGENT, path.join(broken, 'agents', 'hello'), { recursive: true });
    const dockerfile = path.join(broken, 'agents', 'hello', 'Dockerfile');
    await writeFile(dockerfile, `${await readFile(dockerfile, 'utf8')}\n# local-platform: crash\n`);
    try {
      const run = await env.run(env.pullRequestEvent('opened', '9'.repeat(40)), {}, { workspace: broken });
      expect(run.code).toBe(1);
      expect(run.log).toMatch(/::error::hello-agent: deploy failed: deployment \S+ ended FAILED/);
      expect(run.log).toContain('Traceback (most recent call last)');
      expect(run.log).toMatch(/BackOff/);
      expect(run.outputs.status).toBe('failed');
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(comment.body).toContain('❌ Failed');
      expect(comment.body).toMatch(/<details><summary>hello-agent: deploy failed<\/summary>/);
      expect(comment.body).toContain("ModuleNotFoundError: No module named 'agentex'");
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('an older run whose PR head moved on stops without deploying', async () => {
    env.openPullRequest({ number: 2, headSha: 'f'.repeat(40) });
    const run = await env.run(env.pullRequestEvent('synchronize', 'e'.repeat(40)));
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('superseded');
    expect(await livePreviews(env, run.outputs['preview-label'])).toEqual([]);
  });
});

describe("the action bundle's own cost", () => {
  const env = usePreviewEnv({ apiKey: API_KEY, token: TOKEN });

  // At V8's default budget the first response sent llhttp's parser to TurboFan: 200 ms of CPU in every run (src/http/parser-tiering.ts).
  it("parses HTTP with V8's baseline code for undici's WebAssembly parser: no run recompiles it with TurboFan", async () => {
    env.openPullRequest({ number: 2, headSha: 'a'.repeat(40) });
    const run = await env.run(env.pullRequestEvent('opened', 'a'.repeat(40)), {}, { nodeArgs: ['--trace-wasm-compilation-times'] });
    expect(run.outputs).toMatchObject({ status: 'healthy', smoke: 'passed' });
    expect(env.forge.requests.length + env.local.requests.length).toBeGreaterThan(20);
    expect(run.log).toMatch(/^Compiled function \S+ using Liftoff/m);
    expect(run.log.split('\n').filter((line) => /using TurboFan/.test(line))).toEqual([]);
  });
});

describe('repository isolation on one platform account', () => {
  const env = usePreviewEnv({ apiKey: API_KEY, token: TOKEN });

  it("a push replaces and a close removes only this repository's previews of the label, never another repository's with the same agent", async () => {
    const host = new URL(env.forge.url).host;
    const seeder = new PreviewSeeder(env.local, API_KEY);
    // Previews labelled as earlier versions did (pr-5, without the repository's hash).
    const otherRepos = await seeder.preview(`${host}/someone-else/Hello-World`, 'pr-5');
    const unattributed = await seeder.preview(undefined, 'pr-5');
    env.openPullRequest({ number: 5, headSha: 'a'.repeat(40) });

    const opened = await env.run(env.pullRequestEvent('opened', 'a'.repeat(40), { number: 5 }));
    expect(opened.code).toBe(0);
    expect(opened.outputs.status).toBe('healthy');
    // This run's label is its own (pr-5-<hash>): a push replaces nothing labelled otherwise.
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');
    expect(await seeder.status(otherRepos.id)).toBe('HEALTHY');

    env.forge.closePullRequest(OWNER, REPO, 5);
    const closed = await env.run(env.pullRequestEvent('closed', 'a'.repeat(40), { number: 5 }));
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
