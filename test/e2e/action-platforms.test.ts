import { STICKY_MARKER } from '../../src/forge/comment.js';
import { resolvePreviewLabel } from '../../src/pipeline/label.js';
import { parseSourceRepo } from '../../src/pipeline/source-repo.js';
import type { ForgeFlavor, TestForge } from '../support/forge/server.js';
import { usePreviewEnv } from '../support/preview-env.js';
import type { ActionRun } from '../support/runner.js';
import { startAstropodsServer, type AstropodsServer } from '../support/servers/astropods.js';
import { startMutxServer, type MutxServer } from '../support/servers/mutx.js';
import { startNullspaceServer, type NullspaceServer } from '../support/servers/nullspace.js';

// The committed action bundle (dist/action/index.js), run as a runner runs it, once per platform
// that is not Agentex-compatible, against that platform's in-repo server and the test forge:
// first push, second push, close. On GitHub the platform is reached through the action's inputs
// (api-url, api-key, account-id); on Gitea through the platform's own variables, as a workflow's
// `env:` would give them.
const TOKEN = 'ghs_actionPlatforms0123456789abcdEF';
/** An Agentex key in the same workflow `env:`: it must never be sent to, or shown for, another platform. */
const AGENTEX_KEY = 'sk-agentex-decoy-Rw52Hn8Qt3';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';
const A = 'a'.repeat(40);
/** PR 2's label: the number and the repository's identity hash (pipeline/label.ts); the payload names github.com/Codertocat/Hello-World. */
const LABEL = resolvePreviewLabel(undefined, { number: 2 }, 'preview-label', undefined, parseSourceRepo('github.com/Codertocat/Hello-World')).label;
const B = 'b'.repeat(40);

type Json = Record<string, any>;
type Via = 'inputs' | 'env';

interface Credentials {
  apiUrl: string;
  apiKey: string;
  inputs: Record<string, string>;
  env: NodeJS.ProcessEnv;
}

interface PlatformCase {
  name: 'nullspace' | 'mutx' | 'astropods';
  key: string;
  start(options?: Json): Promise<void>;
  close(): Promise<void>;
  credentials(via: Via): Credentials;
  /** The inputs of the n-th push (the image moves on for platforms that deploy pushed images). */
  push(n: 1 | 2): Record<string, string>;
  /** The preview URL the run should report, given its outputs. */
  expectedUrl(outputs: Record<string, string>): string;
  /** Previews still serving, from the server's own state. */
  live(): Json[];
  /** The server's id for the action's deployment-id output. */
  serverId(deploymentId: string): string;
}

let nullspace: NullspaceServer;
let mutx: MutxServer;
let astropods: AstropodsServer;

const NULLSPACE: PlatformCase = {
  name: 'nullspace',
  key: 'ns-action-key-Gt58Jm2Rw7',
  async start(options = {}) {
    nullspace = await startNullspaceServer({ apiKey: this.key, stepMs: 30, ...options });
  },
  close: () => nullspace.close(),
  credentials(via) {
    return via === 'inputs'
      ? { apiUrl: nullspace.url, apiKey: this.key, inputs: {}, env: {} }
      : { apiUrl: '', apiKey: '', inputs: {}, env: { NULLSPACE_API_URL: nullspace.url, NULLSPACE_API_KEY: this.key } };
  },
  push: () => ({ 'PREVIEW-URL': 'https://{label}--{agent}.ns-previews.example.com/' }),
  expectedUrl: () => `https://${LABEL}--hello-agent.ns-previews.example.com/`,
  live: () => nullspace.services().filter((service) => !['stopped', 'stopping', 'failed'].includes(service.status)),
  serverId: (deploymentId) => deploymentId.split(':')[1],
};

const MUTX: PlatformCase = {
  name: 'mutx',
  key: 'mutx-action-key-Nd26Vb9Qe4',
  async start(options = {}) {
    mutx = await startMutxServer({ apiKey: this.key, stepMs: 30, ...options });
  },
  close: () => mutx.close(),
  credentials(via) {
    return via === 'inputs'
      ? { apiUrl: mutx.url, apiKey: this.key, inputs: {}, env: {} }
      : { apiUrl: '', apiKey: '', inputs: {}, env: { MUTX_API_URL: mutx.url, MUTX_API_KEY: this.key } };
  },
  // The deployment id in the template: a new deployment on the second push is a new URL.
  push: (n) => ({ IMAGE: `ghcr.io/codertocat/{agent}:${n === 1 ? '1111111' : '2222222'}`, 'PREVIEW-URL': 'https://mutx-previews.example.com/{label}/{id}' }),
  expectedUrl: (outputs) => `https://mutx-previews.example.com/${LABEL}/${outputs['deployment-id']}`,
  live: () => mutx.deployments().filter((deployment) => !['killed', 'stopped', 'failed'].includes(deployment.status)),
  serverId: (deploymentId) => deploymentId,
};

const ASTROPODS: PlatformCase = {
  name: 'astropods',
  key: 'astro-action-token-Wf17Kc3Ty8',
  async start(options = {}) {
    astropods = await startAstropodsServer({ token: this.key, account: 'astro-team', stepMs: 30, ...options });
  },
  close: () => astropods.close(),
  credentials(via): Credentials {
    return via === 'inputs'
      ? { apiUrl: astropods.url, apiKey: this.key, inputs: { 'ACCOUNT-ID': 'astro-team' }, env: {} }
      : { apiUrl: '', apiKey: '', inputs: {}, env: { ASTRO_API_URL: astropods.url, ASTRO_ACCESS_TOKEN: this.key, ASTRO_ACCOUNT: 'astro-team' } };
  },
  push: (n) => ({ IMAGE: `ghcr.io/codertocat/{agent}:${n === 1 ? '1111111' : '2222222'}` }),
  expectedUrl: () => `https://hello-agent-${LABEL}.astro-team.astropods.app`,
  live: () => astropods.deployments(),
  serverId: (deploymentId) => deploymentId,
};

const PLATFORMS = [NULLSPACE, MUTX, ASTROPODS];
const KEYS = PLATFORMS.map((platform) => platform.key);

/** Every edge_token any Nullspace server handed out. */
const edgeTokens: string[] = [];
/** Every log, summary and output, and everything the forges kept, of every run. */
const everything: string[] = [];

// An edge_token is never even handed to the runner to mask (each Nullspace test checks tokens were issued).
afterAll(() => {
  expect(everything.filter((text) => edgeTokens.some((token) => text.includes(token)))).toEqual([]);
  expect(everything.filter((text) => /edge_token/.test(text))).toEqual([]);
});

function forgeState(forge: TestForge, shas: string[]): string[] {
  return [
    ...forge.comments(OWNER, REPO, 2).map((comment) => comment.body),
    ...(forge.flavor === 'github' ? [JSON.stringify(forge.deployments(OWNER, REPO))] : shas.map((sha) => JSON.stringify(forge.commitStatuses(OWNER, REPO, sha)))),
  ];
}

/**
 * The platform's server (started by `open`, with options of the test's) and, for each test, a forge
 * with the repository, the file's workspace and `run`; what a person sees (the runner consumes
 * `::add-mask::` lines) and what the forge keeps never holds a platform's key, the token or the
 * Agentex key beside it.
 */
function harness(platform: PlatformCase, flavor: ForgeFlavor, via: Via) {
  const state = { credentials: undefined as unknown as Credentials };
  const env = usePreviewEnv({
    apiKey: platform.key,
    token: TOKEN,
    flavor,
    local: false,
    setup: () => ({
      platform: platform.name,
      platformUrl: state.credentials.apiUrl,
      apiKey: state.credentials.apiKey,
      env: { SGP_API_KEY: AGENTEX_KEY, ...state.credentials.env },
    }),
    secrets: () => [...KEYS, AGENTEX_KEY],
  });
  const open = async (serverOptions: Json = {}) => {
    await platform.start(serverOptions);
    state.credentials = platform.credentials(via);
  };
  afterEach(async () => {
    everything.push(...env.forge.storedTexts());
    if (platform.name === 'nullspace') edgeTokens.push(...nullspace.edgeTokens);
    await platform.close();
  });
  afterAll(() => everything.push(...env.captured));
  // These runs are about deploying; the conversations with previews (examples/hello-agent's
  // preview-smoke.yaml is written for the local agent) are tested in test/e2e/action-smoke.test.ts.
  const run = (action: string, sha: string, inputs: Record<string, string>): Promise<ActionRun> =>
    env.run(env.pullRequestEvent(action, sha), { SMOKE: 'off', ...state.credentials.inputs, ...inputs });
  return { env, open, run };
}

const CASES = PLATFORMS.flatMap((platform) => [
  { platform, flavor: 'github' as const, via: 'inputs' as const },
  { platform, flavor: 'gitea' as const, via: 'env' as const },
]);

describe.each(CASES)('the action bundle on $platform.name, $flavor, credentials through $via', ({ platform, flavor, via }) => {
  const { env, open, run } = harness(platform, flavor, via);
  beforeEach(() => open());

  it('previews the first push, updates the same comment on the second, and removes the preview on close', async () => {
    const forge = env.forge;
    env.openPullRequest({ number: 2, headSha: A });

    // First push.
    const first = await run('opened', A, platform.push(1));
    expect(first.log).not.toMatch(/::error::/);
    expect(first.code).toBe(0);
    const url1 = platform.expectedUrl(first.outputs);
    expect(first.outputs).toMatchObject({ status: 'healthy', 'preview-label': LABEL, 'preview-url': url1, 'build-reused': 'false' });
    expect(JSON.parse(first.outputs.agents)).toEqual([
      expect.objectContaining({ agent: 'hello-agent', status: 'healthy', 'preview-url': url1, 'preview-label': LABEL, 'deployment-id': first.outputs['deployment-id'] }),
    ]);
    if (platform.name === 'nullspace') expect(first.outputs['build-id']).toMatch(/^adpl_\w+:adpv_\w+$/);
    else {
      expect(first.outputs['build-id']).toBe('');
      expect(first.log).toContain(`${platform.name} does not build images; deploying the pushed image ghcr.io/codertocat/hello-agent:1111111`);
    }
    expect(platform.live().map((preview) => preview.id)).toEqual([platform.serverId(first.outputs['deployment-id'])]);
    if (via === 'inputs') expect(first.log).toContain(`::add-mask::${platform.key}`);

    const comments = forge.comments(OWNER, REPO, 2);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(STICKY_MARKER);
    expect(comments[0].body).toContain(`[Visit preview](${url1})`);
    expect(comments[0].body).toContain('✅ Ready');
    expect(comments[0].body).toContain(`Platform: ${platform.name}`);
    expect(comments[0].body).not.toContain('carry no URL');
    expect(first.summary).toContain(url1);
    if (flavor === 'github') {
      const [deployment] = forge.deployments(OWNER, REPO);
      expect(forge.deployments(OWNER, REPO)).toHaveLength(1);
      expect(deployment).toMatchObject({ sha: A, environment: `preview/${LABEL}`, transient_environment: true });
      expect(deployment.statuses.map((status: Json) => status.state)).toEqual(['in_progress', 'success']);
      expect(deployment.statuses.at(-1)).toMatchObject({ environment_url: url1, description: 'preview ready' });
    } else {
      const statuses = forge.commitStatuses(OWNER, REPO, A);
      expect(statuses.map((status) => status.state)).toEqual(['pending', 'success']);
      expect(statuses.at(-1)).toMatchObject({ target_url: url1, context: `preview/${LABEL}` });
    }

    // Second push: the same comment is updated, and the PR still has exactly one live preview.
    forge.setPullRequestHead(OWNER, REPO, 2, B);
    const second = await run('synchronize', B, platform.push(2));
    expect(second.log).not.toMatch(/::error::/);
    expect(second.code).toBe(0);
    const url2 = platform.expectedUrl(second.outputs);
    expect(second.outputs).toMatchObject({ status: 'healthy', 'preview-label': LABEL, 'preview-url': url2 });
    const after = forge.comments(OWNER, REPO, 2);
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(comments[0].id);
    expect(after[0].body).toContain('`bbbbbbb`');
    expect(after[0].body).not.toContain('`aaaaaaa`');
    expect(after[0].body).toContain(`[Visit preview](${url2})`);
    expect(platform.live().map((preview) => preview.id)).toEqual([platform.serverId(second.outputs['deployment-id'])]);
    if (platform.name === 'nullspace') {
      // Another commit of the same tree is another version; the older service is stopped.
      expect(second.outputs['build-id']).not.toBe(first.outputs['build-id']);
      expect(nullspace.services().find((service) => service.id === platform.serverId(first.outputs['deployment-id']))?.status).toMatch(/^stopp/);
    }
    if (platform.name === 'mutx') {
      expect(second.outputs['deployment-id']).not.toBe(first.outputs['deployment-id']);
      expect(url2).not.toBe(url1);
      expect(after[0].body).not.toContain(url1);
      // The replaced preview's agent was deleted, and its deployment with it.
      expect(mutx.deployments().find((deployment) => deployment.id === first.outputs['deployment-id'])).toBeUndefined();
      expect(mutx.agents().map((agent) => agent.config.image)).toEqual(['ghcr.io/codertocat/hello-agent:2222222']);
    }
    if (platform.name === 'astropods') {
      // Deploys create or update: the same deployment now runs the new image.
      expect(second.outputs['deployment-id']).toBe(first.outputs['deployment-id']);
      expect(astropods.deployments()[0].image).toBe('ghcr.io/codertocat/hello-agent:2222222');
    }
    if (flavor === 'github') {
      const deployments = forge.deployments(OWNER, REPO);
      expect(deployments.map((deployment) => deployment.sha)).toEqual([A, B]);
      expect(deployments[0].statuses.at(-1)!.state).toBe('inactive');
      expect(deployments[1].statuses.at(-1)).toMatchObject({ state: 'success', environment_url: url2 });
    } else {
      expect(forge.commitStatuses(OWNER, REPO, B).at(-1)).toMatchObject({ state: 'success', target_url: url2 });
    }

    // Close: the platform's preview goes, the comment says so, GitHub's deployments go inactive.
    forge.closePullRequest(OWNER, REPO, 2, { merged: true });
    const closed = await run('closed', B, platform.push(2));
    expect(closed.log).not.toMatch(/::error::/);
    expect(closed.code).toBe(0);
    expect(closed.outputs.status).toBe('removed');
    expect(closed.log).toContain(`previews of "${LABEL}": 1 deleted, 0 already gone`);
    expect(platform.live()).toEqual([]);
    if (platform.name === 'astropods') {
      expect(astropods.deployments()).toEqual([]);
      // Registered agents cannot be deleted on Astropods: the preview's is archived.
      expect(astropods.agents().map((agent) => [agent.name, agent.archived_at !== null])).toEqual([[`hello-agent-${LABEL}`, true]]);
    }
    if (platform.name === 'mutx') expect(mutx.agents()).toEqual([]);
    if (platform.name === 'nullspace') expect(nullspace.agentDeployments().map((deployment) => deployment.status)).toEqual(['deleted']);
    const removed = forge.comments(OWNER, REPO, 2);
    expect(removed).toHaveLength(1);
    expect(removed[0].id).toBe(comments[0].id);
    expect(removed[0].body).toContain('Preview removed');
    expect(removed[0].body).toContain('(hello-agent)');
    expect(closed.summary).toContain('Preview removed (1 deleted, 0 already gone)');
    if (flavor === 'github') {
      for (const deployment of forge.deployments(OWNER, REPO)) expect(deployment.statuses.at(-1)!.state).toBe('inactive');
    }

    if (platform.name === 'nullspace') {
      // Its public_url carries an edge_token credential: none reaches a log, summary, output, comment or status.
      expect(nullspace.edgeTokens.length).toBeGreaterThanOrEqual(2);
      const texts = [first, second, closed].flatMap((result) => [result.log, result.summary, JSON.stringify(result.outputs)]).concat(forgeState(forge, [A, B]));
      for (const token of nullspace.edgeTokens) expect(texts.filter((text) => text.includes(token))).toEqual([]);
      expect(texts.filter((text) => /edge_token/.test(text))).toEqual([]);
    }
  });
});

describe('the action bundle, platform specifics (GitHub)', () => {
  describe('mutx', () => {
    const { env, open, run } = harness(MUTX, 'github', 'inputs');
    beforeEach(() => open());

    it('without a preview-url template reports healthy with no URL and says so plainly in the log, the comment and the summary', async () => {
      env.openPullRequest({ number: 2, headSha: 'c'.repeat(40) });
      const result = await run('opened', 'c'.repeat(40), { IMAGE: 'ghcr.io/codertocat/{agent}:1111111' });
      expect(result.code).toBe(0);
      expect(result.outputs).toMatchObject({ status: 'healthy', 'preview-url': '' });
      expect(result.log).toContain('::warning::hello-agent: mutx deployments carry no URL; set a preview-url template (--preview-url) to link the preview');
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(comment.body).toContain('> mutx deployments carry no URL; set the preview-url input to link previews.');
      expect(comment.body).not.toContain('[Visit preview]');
      expect(comment.body).toMatch(/\| \*\*hello-agent\*\* \| ✅ Ready \| — \|/);
      expect(result.summary).toContain('mutx deployments carry no URL');
      const [deployment] = env.forge.deployments(OWNER, REPO);
      // The deployment links to nothing rather than to something made up.
      expect(deployment.statuses.at(-1)).toMatchObject({ state: 'success', environment_url: '' });
      expect(MUTX.live()).toHaveLength(1);
    });

    it('a deployment that fails fails the step with its error and agent log, in the job log and the comment', async () => {
      mutx.setNextDeploymentFails('container exited with code 1', ["ModuleNotFoundError: No module named 'agentex'"]);
      env.openPullRequest({ number: 2, headSha: 'd'.repeat(40) });
      const result = await run('opened', 'd'.repeat(40), MUTX.push(1));
      expect(result.code).toBe(1);
      expect(result.outputs.status).toBe('failed');
      expect(result.outputs['preview-url']).toBe('');
      expect(result.log).toMatch(/::error::hello-agent: deploy failed: deployment \S+ ended failed/);
      expect(result.log).toContain("ModuleNotFoundError: No module named 'agentex'");
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(comment.body).toContain('❌ Failed');
      expect(comment.body).toContain('container exited with code 1');
      expect(comment.body).not.toContain('[Visit preview]');
      const [deployment] = env.forge.deployments(OWNER, REPO);
      expect(deployment.statuses.at(-1)).toMatchObject({ state: 'failure', environment_url: '' });
    });

    it('a malformed image fails the step before any request reaches the platform or the forge writes anything', async () => {
      env.openPullRequest({ number: 2, headSha: 'e'.repeat(40) });
      const result = await run('opened', 'e'.repeat(40), { IMAGE: 'ghcr.io/codertocat/{agent}:{sha}' });
      expect(result.code).toBe(1);
      expect(result.log).toMatch(/::error::.*unknown placeholder \{sha\}/);
      expect(result.outputs.status).toBe('failed');
      expect(mutx.requests).toEqual([]);
      expect(env.forge.comments(OWNER, REPO, 2)).toEqual([]);
      expect(env.forge.deployments(OWNER, REPO)).toEqual([]);
    });
  });

  describe('nullspace', () => {
    const { env, open, run } = harness(NULLSPACE, 'github', 'inputs');
    beforeEach(() => open());

    it('without a preview-url template never falls back to the signed public_url: no URL, a plain note, and no edge_token anywhere', async () => {
      env.openPullRequest({ number: 2, headSha: 'c'.repeat(40) });
      const result = await run('opened', 'c'.repeat(40), {});
      expect(result.code).toBe(0);
      expect(result.outputs).toMatchObject({ status: 'healthy', 'preview-url': '' });
      expect(nullspace.edgeTokens).toHaveLength(1);
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(comment.body).toContain('> nullspace deployments carry no URL; set the preview-url input to link previews.');
      expect(comment.body).not.toContain('[Visit preview]');
      const texts = [result.log, result.summary, JSON.stringify(result.outputs), ...forgeState(env.forge, ['c'.repeat(40)])];
      expect(texts.filter((text) => text.includes(nullspace.edgeTokens[0]) || /edge_token|edge\.nullspace/.test(text))).toEqual([]);
    });

    it('an image input is refused: nullspace builds from the context', async () => {
      env.openPullRequest({ number: 2, headSha: 'd'.repeat(40) });
      const result = await run('opened', 'd'.repeat(40), { IMAGE: 'ghcr.io/codertocat/hello-agent:1' });
      expect(result.code).toBe(1);
      expect(result.log).toMatch(/::error::field "image": nullspace builds the image from the agent's context.*remove image/);
      expect(nullspace.requests).toEqual([]);
    });
  });

  describe('astropods', () => {
    const { env, open, run } = harness(ASTROPODS, 'github', 'inputs');

    it('links the public URL, never one that carries a credential', async () => {
      await open({ credentialUrl: true });
      env.openPullRequest({ number: 2, headSha: 'c'.repeat(40) });
      const result = await run('opened', 'c'.repeat(40), ASTROPODS.push(1));
      expect(result.code).toBe(0);
      expect(result.outputs['preview-url']).toBe(`https://hello-agent-${LABEL}.astro-team.astropods.app`);
      const texts = [result.log, result.summary, JSON.stringify(result.outputs), ...forgeState(env.forge, ['c'.repeat(40)])];
      expect(texts.filter((text) => /adm-secret-123|\/admin/.test(text))).toEqual([]);
    });

    it('without an image input deploys the manifest image', async () => {
      await open();
      env.openPullRequest({ number: 2, headSha: 'd'.repeat(40) });
      const result = await run('opened', 'd'.repeat(40), {});
      expect(result.code).toBe(0);
      expect(result.log).toContain('deploying the pushed image registry.example.com/agents/hello-agent:latest');
      expect(astropods.deployments()[0].image).toBe('registry.example.com/agents/hello-agent:latest');
    });

    // Astropods records no repository, but the preview's label carries this repository's identity
    // hash (pipeline/label.ts): a close that cannot read the manifests still knows the preview is its own.
    it("a close run that cannot read the manifests removes the preview its label proves is this repository's", async () => {
      await open();
      env.openPullRequest({ number: 2, headSha: 'f'.repeat(40) });
      const opened = await run('opened', 'f'.repeat(40), ASTROPODS.push(1));
      expect(opened.code).toBe(0);
      env.forge.closePullRequest(OWNER, REPO, 2, { merged: true });
      const closed = await run('closed', 'f'.repeat(40), { MANIFEST: 'agents/removed-by-this-pr/manifest.yaml' });
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(closed.code).toBe(0);
      expect({ status: closed.outputs.status, saysRemoved: comment.body.includes('Preview removed') }).toEqual({ status: 'removed', saysRemoved: true });
      expect(astropods.deployments()).toHaveLength(0);
    });

    // The platform usually gives a URL; a deployment that gave none we may show is called out.
    it('a healthy deployment with no usable URL says so in the comment', async () => {
      await open({ credentialUrl: true, publicUrl: false });
      env.openPullRequest({ number: 2, headSha: 'e'.repeat(40) });
      const result = await run('opened', 'e'.repeat(40), ASTROPODS.push(1));
      expect(result.code).toBe(0);
      expect(result.outputs).toMatchObject({ status: 'healthy', 'preview-url': '' });
      const [comment] = env.forge.comments(OWNER, REPO, 2);
      expect(comment.body).not.toContain('adm-secret-123');
      expect(comment.body).toMatch(/no (usable |public )?URL/i);
    });
  });
});
