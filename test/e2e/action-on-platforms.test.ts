import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { HELLO_AGENT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { pullRequestEvent, runActionBundle, shownText, type ActionRun } from '../support/runner.js';
import { startAstropodsServer, type AstropodsServer } from '../support/servers/astropods.js';
import { startMutxServer, type MutxServer } from '../support/servers/mutx.js';
import { startNullspaceServer, type NullspaceServer } from '../support/servers/nullspace.js';

// The committed action bundle, once per platform, against each platform's in-repo server and the
// GitHub test forge: first push, second push, close.
const TOKEN = 'ghs_platformsE2eToken0123456789ab';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';
const IMAGE = 'ghcr.io/codertocat/{agent}:0f1e2d3';

type Json = Record<string, any>;

interface PlatformUnderTest {
  name: 'nullspace' | 'mutx' | 'astropods';
  key: string;
  start(): Promise<{ url: string; close(): Promise<void> }>;
  /** The action inputs that select and reach this platform. */
  inputs(url: string): Record<string, string>;
  /** What the preview URL should be, given the run's outputs. */
  expectedUrl(url: string): RegExp;
  /** The platform's previews that still serve, read from the server's own state. */
  livePreviews(): Json[];
}

let nullspace: NullspaceServer;
let mutx: MutxServer;
let astropods: AstropodsServer;

const PLATFORMS: PlatformUnderTest[] = [
  {
    name: 'nullspace',
    key: 'ns-e2e-key-Wq72Lp0Zs9',
    async start() {
      nullspace = await startNullspaceServer({ apiKey: this.key, stepMs: 30 });
      return nullspace;
    },
    // Through the environment, with the platform's own variable names, as a workflow's `env:` would.
    inputs: () => ({ PLATFORM: 'nullspace', 'API-URL': '', 'API-KEY': '', 'PREVIEW-URL': 'https://{label}--{agent}.previews.example.com/' }),
    expectedUrl: () => /^https:\/\/pr-2--hello-agent\.previews\.example\.com\/$/,
    livePreviews: () => nullspace.services().filter((service) => !['stopped', 'stopping', 'failed'].includes(service.status)),
  },
  {
    name: 'mutx',
    key: 'mutx-e2e-key-Hq38Kd1Xv5',
    async start() {
      mutx = await startMutxServer({ apiKey: this.key, stepMs: 30 });
      return mutx;
    },
    inputs(url) {
      return { PLATFORM: 'mutx', 'API-URL': url, 'API-KEY': this.key, IMAGE, 'PREVIEW-URL': 'https://{label}.mutx-previews.example.com/' };
    },
    expectedUrl: () => /^https:\/\/pr-2\.mutx-previews\.example\.com\/$/,
    livePreviews: () => mutx.deployments().filter((deployment) => !['killed', 'stopped', 'failed'].includes(deployment.status)),
  },
  {
    name: 'astropods',
    key: 'astro-e2e-token-Pz61Rt4Nm8',
    async start() {
      astropods = await startAstropodsServer({ token: this.key, account: 'astro-team', stepMs: 30 });
      return astropods;
    },
    inputs(url) {
      return { PLATFORM: 'astropods', 'API-URL': url, 'API-KEY': this.key, 'ACCOUNT-ID': 'astro-team', IMAGE };
    },
    expectedUrl: () => /^https?:\/\/\S+$/,
    livePreviews: () => astropods.deployments(),
  },
];

let workspace: string;
const captured: string[] = [];
const forgeTexts: string[] = [];

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'ap-platforms-'));
  await cp(HELLO_AGENT, path.join(workspace, 'agents', 'hello'), { recursive: true });
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
  const shown = [...shownText(captured), ...forgeTexts];
  const keys = PLATFORMS.map((platform) => platform.key);
  expect(shown.filter((text) => [...keys, TOKEN].some((secret) => text.includes(secret)))).toEqual([]);
});

describe.each(PLATFORMS)('the action bundle on $name', (platform) => {
  let server: { url: string; close(): Promise<void> };
  let forge: TestForge;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    server = await platform.start();
    forge = await startTestForge({ flavor: 'github', token: TOKEN });
    forge.seedRepo(OWNER, REPO, { defaultBranch: 'master' });
    env = platform.name === 'nullspace' ? { NULLSPACE_API_KEY: platform.key, NULLSPACE_API_URL: server.url } : {};
  });

  afterEach(async () => {
    forgeTexts.push(...forge.comments(OWNER, REPO, 2).map((comment) => comment.body), JSON.stringify(forge.deployments(OWNER, REPO)));
    await forge.close();
    await server.close();
  });

  const run = (event: Json, inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runActionBundle(
      { forge, platformUrl: server.url, apiKey: platform.key, token: TOKEN, repository: `${OWNER}/${REPO}`, workspace, captured },
      event,
      { ...platform.inputs(server.url), ...inputs },
      env,
    );

  it('previews the first push, updates the same comment on the second, and removes the preview on close', async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'a'.repeat(40), headRef: 'changes', baseRef: 'master' });
    const first = await run(pullRequestEvent('opened', 'a'.repeat(40)));
    expect(first.log).not.toMatch(/::error::/);
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({ status: 'healthy', 'preview-label': 'pr-2' });
    expect(first.outputs['preview-url']).toMatch(platform.expectedUrl(server.url));
    expect(platform.livePreviews()).toHaveLength(1);
    const [comment] = forge.comments(OWNER, REPO, 2);
    expect(comment.body).toContain(STICKY_MARKER);
    expect(comment.body).toContain(first.outputs['preview-url']);
    expect(comment.body).toContain(platform.name);
    const [deployment] = forge.deployments(OWNER, REPO);
    expect(deployment).toMatchObject({ environment: 'preview/pr-2', sha: 'a'.repeat(40) });
    expect(deployment.statuses.at(-1)).toMatchObject({ state: 'success', environment_url: first.outputs['preview-url'] });
    if (platform.name !== 'nullspace') expect(first.log).toContain('does not build images; deploying the pushed image ghcr.io/codertocat/hello-agent:0f1e2d3');

    forge.setPullRequestHead(OWNER, REPO, 2, 'b'.repeat(40));
    const second = await run(pullRequestEvent('synchronize', 'b'.repeat(40)));
    expect(second.code).toBe(0);
    expect(second.outputs.status).toBe('healthy');
    const after = forge.comments(OWNER, REPO, 2);
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(comment.id);
    expect(after[0].body).toContain('bbbbbbb');
    expect(platform.livePreviews()).toHaveLength(1);

    forge.closePullRequest(OWNER, REPO, 2, { merged: true });
    const closed = await run(pullRequestEvent('closed', 'b'.repeat(40)));
    expect(closed.code).toBe(0);
    expect(closed.outputs.status).toBe('removed');
    expect(platform.livePreviews()).toEqual([]);
    expect(forge.comments(OWNER, REPO, 2)[0].body).toContain('Preview removed');

    if (platform.name === 'nullspace') {
      // Its public_url carries an edge_token credential: none may reach a log, summary, output or comment.
      const everything = [first, second, closed].flatMap((result) => [result.log, result.summary, JSON.stringify(result.outputs)]);
      everything.push(...forge.comments(OWNER, REPO, 2).map((c) => c.body), JSON.stringify(forge.deployments(OWNER, REPO)));
      expect(nullspace.edgeTokens.length).toBeGreaterThan(0);
      for (const token of nullspace.edgeTokens) expect(everything.filter((text) => text.includes(token))).toEqual([]);
      expect(everything.filter((text) => /edge_token=/.test(text))).toEqual([]);
    }
  });

  if (platform.name === 'mutx') {
    it('says plainly, in the log and the comment, that there is no URL when no preview-url template is given', async () => {
      forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'c'.repeat(40), headRef: 'changes', baseRef: 'master' });
      const result = await run(pullRequestEvent('opened', 'c'.repeat(40)), { 'PREVIEW-URL': '' });
      expect(result.code).toBe(0);
      expect(result.outputs.status).toBe('healthy');
      expect(result.outputs['preview-url']).toBe('');
      expect(result.log).toContain('mutx deployments carry no URL');
      expect(forge.comments(OWNER, REPO, 2)[0].body).toContain('mutx deployments carry no URL; set the preview-url input to link previews.');
    });

    it('refuses a malformed image before any request reaches the platform', async () => {
      forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'd'.repeat(40), headRef: 'changes', baseRef: 'master' });
      const result = await run(pullRequestEvent('opened', 'd'.repeat(40)), { IMAGE: 'ghcr.io/codertocat/hello-agent' });
      expect(result.code).toBe(1);
      expect(result.log).toMatch(/::error::.*image.*has no tag/);
      expect(mutx.requests).toEqual([]);
    });
  }
});
