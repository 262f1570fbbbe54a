import { readFile } from 'node:fs/promises';
import { ApiError, InputError } from '../../../src/errors.js';
import { teardownPreviews } from '../../../src/previews/teardown.js';
import { AstropodsPlatform } from '../../../src/platforms/astropods/astropods.js';
import type { DeployRequest, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets, redact } from '../../../src/secrets/redact.js';
import { parse as parseYaml } from 'yaml';
import { until } from '../../support/wait.js';
import { startAstropodsServer, type AstropodsServer } from '../../support/servers/astropods.js';

const TOKEN = 'astro_test_token_0123456789';
const ACCOUNT = 'astro-team';
let server: AstropodsServer;
let manifestText: string;

beforeAll(async () => {
  manifestText = await readFile('examples/hello-agent/manifest.yaml', 'utf8');
});
afterAll(() => clearSecrets());
// Only a server this test started: closing the previous test's one again failed under --randomize.
let startedHere: AstropodsServer | undefined;
afterEach(async () => {
  await startedHere?.close();
  startedHere = undefined;
});

async function start(extra: { credentialUrl?: boolean } = {}): Promise<AstropodsPlatform> {
  server = await startAstropodsServer({ token: TOKEN, account: ACCOUNT, stepMs: 60, ...extra });
  startedHere = server;
  return new AstropodsPlatform({ baseUrl: server.url, token: TOKEN, account: ACCOUNT, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

function deployRequest(label?: string, tag = 'abc123'): DeployRequest {
  return {
    agentName: 'hello-agent',
    manifestText,
    environmentText: '',
    image: { name: 'registry.example.com/agents/hello-agent', tag },
    preview: label ? { label, expiresAt: new Date(Date.now() + 3_600_000) } : undefined,
  };
}

const settled = (deployment: Deployment) => deployment.phase !== 'progressing';
const posts = (path: string) => server.requests.filter((request) => request.method === 'POST' && request.path === `/api/v1${path}`);

describe('Astropods adapter settings', () => {
  it('reads the environment, names the missing field and keeps the token secret', () => {
    expect(() => new AstropodsPlatform({ env: { ASTRO_ACCOUNT: 'a' } })).toThrow(InputError);
    expect(() => new AstropodsPlatform({ env: { ASTRO_ACCOUNT: 'a' } })).toThrow(/api-key.*ASTRO_ACCESS_TOKEN/);
    expect(() => new AstropodsPlatform({ env: { ASTRO_ACCESS_TOKEN: 'tok-123456' } })).toThrow(/account-id/);
    expect(() => new AstropodsPlatform({ env: { ASTRO_ACCESS_TOKEN: 'tok-123456', ASTRO_ACCOUNT: 'a', ASTRO_API_URL: 'ftp://x' } })).toThrow(/api-url/);
    const astro = new AstropodsPlatform({ env: { ASTRO_ACCESS_TOKEN: 'env-token-98765', ASTRO_ACCOUNT: 'team' } });
    expect(astro.http.baseUrl).toBe('https://astropods.com/api/v1');
    expect(astro.account).toBe('team');
    expect(redact('Bearer env-token-98765')).toBe('Bearer ***');
    expect(astro.capabilities).toEqual({ deploymentUrl: true, previewExpiry: false });
    expect('builder' in astro).toBe(false);
  });
});

describe('Astropods adapter over HTTP', () => {
  it('deploys only a pushed image that names its registry: without one it sends nothing', async () => {
    const astro = await start();
    await expect(astro.createDeployment({ ...deployRequest('pr-1'), image: undefined })).rejects.toThrow(/field "image"/);
    await expect(astro.createDeployment({ ...deployRequest('pr-1'), image: { name: 'hello-agent', tag: 'v1' } })).rejects.toThrow(/names no registry/);
    expect(server.requests).toHaveLength(0);
  });

  it('registers the image with the fields register-agent requires, deploys a signed template under the display name, and reads the {deployment} envelope', async () => {
    const astro = await start({ credentialUrl: true });
    const created = await astro.createDeployment(deployRequest('PR 7'));
    expect(created).toMatchObject({ agentName: 'hello-agent', previewLabel: 'pr-7', release: 'hello-agent-pr-7' });
    expect(created.id).toBe(server.deployments()[0].id);
    expect(created.namespace).toBe('astro-hello-agent-pr-7');

    const [register] = posts(`/agents/${ACCOUNT}/hello-agent-pr-7/register`);
    expect(register.status).toBe(201);
    expect(register.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(Object.keys(register.body!).sort()).toEqual(['build_id', 'readme', 'registry', 'spec_content']);
    expect(register.body).toMatchObject({ build_id: expect.stringMatching(/^[0-9a-f]{8}$/), registry: 'registry.example.com/agents' });
    expect(parseYaml(register.body!.spec_content)).toEqual({ spec: 'blueprint/v1', name: 'hello-agent-pr-7', agent: { image: 'registry.example.com/agents/hello-agent:abc123' } });

    const [template] = posts(`/agents/${ACCOUNT}/hello-agent-pr-7/deployment-template`);
    expect(template.body).toMatchObject({ build: register.body!.build_id, finalize: true });
    expect(template.body!.deployment_id).toBeUndefined();
    const [deploy] = posts('/deploy');
    expect(deploy.status).toBe(200);
    expect(deploy.body!.target).toEqual({ display_name: 'hello-agent-pr-7' });
    expect(deploy.headers['x-template-signature']).toMatch(/^[0-9a-f]{64}$/);
    // The deployment is read by the id the deploy answered with, never from an empty one.
    expect(server.requests.filter((request) => request.method === 'GET').map((request) => request.path)).toContain(`/api/v1/deployments/${created.id}`);
    expect(server.requests.some((request) => request.path === '/api/v1/deployments/')).toBe(false);

    const healthy = await until(() => astro.getDeployment(created.id), settled);
    // Never the URL that carries a credential, only the public one.
    expect(healthy).toMatchObject({ phase: 'healthy', rawStatus: 'active', url: `https://hello-agent-pr-7.${ACCOUNT}.astropods.app` });
    expect((await astro.listDeployments({ previewLabel: 'pr-7' })).map((deployment) => deployment.id)).toEqual([created.id]);
  });

  it('a second deploy of the same image changes nothing; a new image updates the same deployment in place', async () => {
    const astro = await start();
    const first = await astro.createDeployment(deployRequest('pr-7'));
    const again = await astro.createDeployment(deployRequest('pr-7'));
    expect(again.id).toBe(first.id);
    expect(posts('/deploy')).toHaveLength(1);

    const newer = await astro.createDeployment(deployRequest('pr-7', 'def456'));
    expect(newer.id).toBe(first.id);
    expect(server.deployments()).toHaveLength(1);
    expect(server.deployments()[0].image).toBe('registry.example.com/agents/hello-agent:def456');
    const templates = posts(`/agents/${ACCOUNT}/hello-agent-pr-7/deployment-template`);
    expect(templates.at(-1)!.body).toMatchObject({ deployment_id: first.id, finalize: true });
    expect(posts('/deploy').at(-1)!.body!.target).toEqual({ deployment_id: first.id, display_name: 'hello-agent-pr-7' });
    expect(newer.buildId).not.toBe(first.buildId);
  });

  it('moves to a deterministic suffixed display name when another deployment holds the name, and keeps it', async () => {
    const astro = await start();
    server.occupy('hello-agent-pr-9', 'someone-else');
    const created = await astro.createDeployment(deployRequest('pr-9'));
    expect(created.release).toMatch(/^hello-agent-pr-9-[0-9a-f]{6}$/);
    expect(posts('/deploy').map((request) => [request.body!.target.display_name, request.status])).toEqual([
      ['hello-agent-pr-9', 409],
      [created.release, 200],
    ]);
    const updated = await astro.createDeployment(deployRequest('pr-9', 'def456'));
    expect(updated).toMatchObject({ id: created.id, release: created.release });
    expect((await astro.listDeployments({ previewLabel: 'pr-9' })).map((deployment) => deployment.id)).toEqual([created.id]);
  });

  it('fails clearly when every name is taken', async () => {
    const astro = await start();
    server.occupy('hello-agent-pr-3', 'another-one');
    const held = `hello-agent-pr-3-${(await import('node:crypto')).createHash('sha256').update(`${ACCOUNT}/hello-agent/pr-3`).digest('hex').slice(0, 6)}`;
    server.occupy(held, 'another-two');
    const error = await astro.createDeployment(deployRequest('pr-3')).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/HTTP 409: every display name tried for hello-agent-pr-3 is in use.*hello-agent-pr-3, hello-agent-pr-3-[0-9a-f]{6}/);
  });

  it('reports a 207 partial deploy as failed, with its errors as events and logs', async () => {
    const astro = await start();
    server.partialNextDeploy(['ingress hello-agent-pr-4: certificate not issued', 'service web: port 8080 not exposed']);
    const created = await astro.createDeployment(deployRequest('pr-4'));
    expect(posts('/deploy')[0].status).toBe(207);
    expect(created).toMatchObject({ phase: 'failed', rawStatus: 'partial', previewLabel: 'pr-4', url: undefined });
    expect(created.events.map((event) => event.message)).toEqual(['ingress hello-agent-pr-4: certificate not issued', 'service web: port 8080 not exposed']);
    const lines = await astro.deploymentLogs(created.id);
    expect(lines.map((line) => line.message)).toEqual(created.events.map((event) => event.message));
    // The next deploy of the same image tries again in place instead of keeping the failure.
    const retried = await astro.createDeployment(deployRequest('pr-4'));
    expect(retried.id).toBe(created.id);
    expect(posts('/deploy')).toHaveLength(2);
  });

  it('a teardown undeploys and archives the preview agent; a second teardown finds nothing', async () => {
    const astro = await start();
    const preview = await astro.createDeployment(deployRequest('pr-8'));
    const kept = await astro.createDeployment(deployRequest('pr-10'));
    const outcome = await teardownPreviews(new AstropodsPlatform({ baseUrl: server.url, token: TOKEN, account: ACCOUNT, env: {} }), { label: 'pr-8' });
    expect(outcome.deleted.map((deployment) => deployment.id)).toEqual([preview.id]);
    expect(server.deployments().map((deployment) => deployment.id)).toEqual([kept.id]);
    // Astropods cannot delete a registered agent; the preview's is archived, the other preview's is not.
    expect(server.agents().map((agent) => [agent.name, agent.archived_at !== null])).toEqual([
      ['hello-agent-pr-8', true],
      ['hello-agent-pr-10', false],
    ]);
    const again = await teardownPreviews(astro, { label: 'pr-8' });
    expect(again).toMatchObject({ deleted: [], alreadyGone: [], failed: [] });
    expect(await astro.deleteDeployment(preview.id)).toBe('already-gone');
    expect(posts('/undeploy')).toHaveLength(1);
  });

  it('a deploy whose answer was lost is found again, not made twice', async () => {
    const astro = await start();
    server.failNext(/^POST \/deploy$/, 502, 1, 'after');
    const created = await astro.createDeployment(deployRequest('pr-12'));
    expect(server.deployments()).toHaveLength(1);
    expect(created.id).toBe(server.deployments()[0].id);
    expect(posts('/deploy').map((request) => request.status)).toEqual([502]);
  });

  it('prints a refused registration with its details, and a bad token without the token', async () => {
    const astro = await start();
    const refused = await astro.http
      .json({ call: 'register agent', method: 'POST', path: `/agents/${ACCOUNT}/hello-agent/register`, json: { image: 'x:y' }, idempotent: true })
      .catch((err: Error) => err);
    expect(String((refused as Error).message)).toContain('HTTP 400: invalid request: missing required field(s): build_id, registry, spec_content');

    const bad = new AstropodsPlatform({ baseUrl: server.url, token: 'wrong-token-4242', account: ACCOUNT, env: {} });
    const error = await bad.createDeployment(deployRequest('pr-13')).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(String((error as ApiError).message)).toMatch(/HTTP 401: unauthorized: invalid token/);
    expect(String((error as ApiError).message)).not.toContain('wrong-token-4242');
    await expect(astro.getDeployment('nope')).rejects.toThrow(/HTTP 404/);
    expect(await astro.deleteDeployment('nope')).toBe('already-gone');
  });
});

describe('Astropods teardown for one repository', () => {
  it('reads no builds (there are none) and removes the previews of the agents the repository declares', async () => {
    const astro = await start();
    const preview = await astro.createDeployment(deployRequest('pr-8'));
    await until(() => astro.getDeployment(preview.id), settled);
    const repo = { host: 'github.com', owner: 'acme', repo: 'agents' };

    const strangers = await teardownPreviews(astro, { label: 'pr-8', repo });
    expect(strangers.deleted).toEqual([]);
    expect(strangers.withoutProvenance.map((deployment) => deployment.id)).toEqual([preview.id]);

    const ours = await teardownPreviews(astro, { label: 'pr-8', repo, adoptUnproven: ['hello-agent'] });
    expect(ours.deleted.map((deployment) => deployment.id)).toEqual([preview.id]);
    expect(posts('/undeploy')).toHaveLength(1);
  });

  it("reads whose preview it is from the readme registered with its build: another repository's is left alone, its own removed", async () => {
    const astro = await start();
    const mine = await astro.createDeployment({ ...deployRequest('pr-9'), sourceRepo: 'github.com/acme/agents' });
    const theirs = await astro.createDeployment({ ...deployRequest('pr-10', 'def456'), sourceRepo: 'github.com/someone/else' });
    await until(() => astro.getDeployment(theirs.id), settled);
    expect((await astro.listDeployments({ previewLabel: 'pr-9' })).map((deployment) => deployment.sourceRepo)).toEqual(['github.com/acme/agents']);
    const repo = { host: 'github.com', owner: 'acme', repo: 'agents' };

    const other = await teardownPreviews(astro, { label: 'pr-10', repo });
    expect(other.otherRepos.map((deployment) => deployment.id)).toEqual([theirs.id]);
    const own = await teardownPreviews(astro, { label: 'pr-9', repo });
    expect(own.deleted.map((deployment) => deployment.id)).toEqual([mine.id]);
    expect(posts('/undeploy')).toHaveLength(1);
  });
});
