import { readFile } from 'node:fs/promises';
import { ApiError, InputError } from '../../../src/errors.js';
import { teardownPreviews } from '../../../src/previews/teardown.js';
import { MutxPlatform } from '../../../src/platforms/mutx/mutx.js';
import type { DeployRequest, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets, redact } from '../../../src/secrets/redact.js';
import { until } from '../../support/wait.js';
import { startMutxServer, type MutxServer } from '../../support/servers/mutx.js';

// The MUTX adapter against the in-repo server, which validates as mutx-dev/mutx-dev@abdc975 does
// (config models are extra="forbid", 422 envelopes with details, DELETE /v1/agents cascades).
const KEY = 'mutx_live_test_key_0123456789';
let server: MutxServer;
let manifestText: string;

beforeAll(async () => {
  manifestText = await readFile('examples/hello-agent/manifest.yaml', 'utf8');
});
afterAll(() => clearSecrets());
beforeEach(async () => {
  server = await startMutxServer({ apiKey: KEY, stepMs: 30 });
});
afterEach(async () => server.close());

function platform(): MutxPlatform {
  return new MutxPlatform({ baseUrl: server.url, apiKey: KEY, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
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

describe('MUTX adapter over HTTP', () => {
  it('reads settings from the environment, names the missing field and keeps the key secret', () => {
    expect(() => new MutxPlatform({ env: { MUTX_API_URL: 'http://x' } })).toThrow(InputError);
    expect(() => new MutxPlatform({ env: { MUTX_API_URL: 'http://x' } })).toThrow(/api-key/);
    expect(() => new MutxPlatform({ env: { MUTX_API_KEY: 'k-123456' } })).toThrow(/api-url/);
    expect(() => new MutxPlatform({ env: { MUTX_API_KEY: 'k-123456', MUTX_API_URL: 'ftp://x' } })).toThrow(/api-url/);
    const mutx = new MutxPlatform({ env: { MUTX_API_URL: 'https://api.mutx.test/v1/', MUTX_API_KEY: 'env-key-98765' } });
    expect(mutx.http.baseUrl).toBe('https://api.mutx.test');
    expect(redact('token env-key-98765')).toBe('token ***');
    // MUTX builds nothing (no builder at all), carries no URL and no expiry.
    expect('builder' in mutx).toBe(false);
    expect(mutx.capabilities).toEqual({ deploymentUrl: false, previewExpiry: false });
    expect(mutx.labelRule.sanitize('Feature/Long Branch Name That Is Well Over Thirty Characters')).toBe('feature-long-branch-name-that-is-well-over-thirty-characters');
  });

  it('creates a custom agent whose config holds only what MUTX allows, with the label and repository in its name and description', async () => {
    const mutx = platform();
    const created = await mutx.createDeployment({ ...deployRequest('PR 7'), sourceRepo: 'github.com/acme/agents' });
    expect(created).toMatchObject({
      phase: 'progressing',
      rawStatus: 'pending',
      agentName: 'hello-agent',
      previewLabel: 'pr-7',
      release: 'hello-agent-pr-7',
      sourceRepo: 'github.com/acme/agents',
    });
    expect(created.url).toBeUndefined();

    const agentCreate = server.requests.find((request) => request.method === 'POST' && request.path === '/v1/agents')!;
    expect(agentCreate.status).toBe(201);
    expect(agentCreate.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(agentCreate.body).toEqual({
      name: 'hello-agent-pr-7',
      description: expect.stringContaining('[agent-preview agent=hello-agent label=pr-7 repo=github.com/acme/agents]'),
      type: 'custom',
      config: { image: 'registry.example.com/agents/hello-agent:abc123' },
    });
    // What MUTX stores: its own normalised config, nothing of ours.
    expect(server.agents()[0].config).toEqual({ name: 'hello-agent-pr-7', version: 1, image: 'registry.example.com/agents/hello-agent:abc123', command: [], env: {} });
    const deploymentCreate = server.requests.find((request) => request.method === 'POST' && request.path === '/v1/deployments')!;
    expect(deploymentCreate.body).toEqual({ agent_id: server.agents()[0].id, replicas: 1 });

    const healthy = await until(() => mutx.getDeployment(created.id), settled);
    expect(healthy).toMatchObject({ id: created.id, phase: 'healthy', rawStatus: 'running', previewLabel: 'pr-7' });
    expect(healthy.events.map((event) => event.type)).toEqual(['create', 'deploy', 'ready']);
  });

  it('a second deploy of the same image reuses the running deployment; a new image gets its own agent', async () => {
    const mutx = platform();
    const first = await mutx.createDeployment(deployRequest('pr-7'));
    const again = await mutx.createDeployment(deployRequest('pr-7'));
    expect(again.id).toBe(first.id);
    expect(server.agents()).toHaveLength(1);
    expect(server.deployments()).toHaveLength(1);

    const newer = await mutx.createDeployment(deployRequest('pr-7', 'def456'));
    expect(newer.id).not.toBe(first.id);
    expect(
      server
        .agents()
        .map((agent) => agent.config.image)
        .sort(),
    ).toEqual(['registry.example.com/agents/hello-agent:abc123', 'registry.example.com/agents/hello-agent:def456']);
    // A fresh client finds both by label, newest first; other agents and real deploys are not listed.
    const other = await mutx.createDeployment({ ...deployRequest('pr-8'), agentName: 'other-agent' });
    const real = await mutx.createDeployment(deployRequest());
    expect(real).toMatchObject({ release: 'hello-agent', previewLabel: undefined, agentName: 'hello-agent' });
    const fresh = platform();
    expect((await fresh.listDeployments({ previewLabel: 'pr-7' })).map((d) => d.id)).toEqual([newer.id, first.id]);
    expect((await fresh.listDeployments({ previewLabel: 'pr-8' })).map((d) => d.id)).toEqual([other.id]);
    expect(await fresh.listDeployments({ previewLabel: 'pr-7', agentName: 'other-agent' })).toEqual([]);

    // Replacing the old preview (what a deploy does once the new one is healthy) removes its agent too.
    expect(await mutx.deleteDeployment(first.id)).toBe('deleted');
    expect(
      server
        .agents()
        .filter((agent) => agent.name === 'hello-agent-pr-7')
        .map((agent) => agent.config.image),
    ).toEqual(['registry.example.com/agents/hello-agent:def456']);
    expect(server.deployments().map((deployment) => deployment.id)).not.toContain(first.id);
  });

  it('a teardown leaves nothing of the preview on the account, and a second teardown finds nothing', async () => {
    const mutx = platform();
    const first = await mutx.createDeployment(deployRequest('pr-9'));
    const second = await mutx.createDeployment(deployRequest('pr-9', 'def456'));
    const kept = await mutx.createDeployment(deployRequest('pr-10'));
    await until(() => mutx.getDeployment(second.id), settled);

    const outcome = await teardownPreviews(mutx, { label: 'pr-9' });
    expect(outcome.deleted.map((deployment) => deployment.id).sort()).toEqual([first.id, second.id].sort());
    expect(outcome.failed).toEqual([]);
    expect(server.agents().map((agent) => agent.name)).toEqual(['hello-agent-pr-10']);
    expect(server.deployments().map((deployment) => deployment.id)).toEqual([kept.id]);
    expect(server.requests.filter((request) => request.method === 'DELETE' && request.path.startsWith('/v1/agents/')).map((request) => request.status)).toEqual([204, 204]);

    const again = await teardownPreviews(mutx, { label: 'pr-9' });
    expect(again).toMatchObject({ deleted: [], alreadyGone: [], failed: [] });
    expect(await mutx.deleteDeployment(first.id)).toBe('already-gone');
    expect(await mutx.deleteDeployment('4f3c2b1a-0000-4000-8000-000000000000')).toBe('already-gone');
  });

  it('an agent left behind by an interrupted teardown is listed, and the next teardown deletes it', async () => {
    const mutx = platform();
    const created = await mutx.createDeployment(deployRequest('pr-11'));
    // The kill lands, the agent delete does not.
    server.failNext(/^DELETE \/v1\/agents\//, 500, 10, 'before');
    await expect(mutx.deleteDeployment(created.id)).rejects.toThrow(/delete agent/);
    expect(server.agents()).toHaveLength(1);
    server.failNext(/^DELETE \/v1\/agents\//, 500, 0);

    const listed = await platform().listDeployments({ previewLabel: 'pr-11' });
    expect(listed.map((deployment) => deployment.phase).sort()).toEqual(['deleted', 'failed']);
    const outcome = await teardownPreviews(platform(), { label: 'pr-11' });
    expect(outcome.deleted).toHaveLength(1);
    expect(server.agents()).toEqual([]);
    expect(server.deployments()).toEqual([]);
  });

  it('pages through agents and deployments with skip, limit and has_more', async () => {
    const mutx = platform();
    const first = await mutx.createDeployment(deployRequest('pr-12'));
    const agentId = server.agents()[0].id;
    for (let i = 0; i < 104; i++) {
      await mutx.http.json({ call: 'seed', method: 'POST', path: '/v1/deployments', json: { agent_id: agentId, replicas: 1 }, idempotent: true });
    }
    const mark = server.requests.length;
    const listed = await mutx.listDeployments({ previewLabel: 'pr-12' });
    expect(listed).toHaveLength(105);
    expect(new Set(listed.map((d) => d.id)).size).toBe(105);
    expect(listed[listed.length - 1].id).toBe(first.id);
    const pages = server.requests.slice(mark).filter((request) => request.method === 'GET' && request.path === '/v1/deployments');
    expect(pages.map((request) => request.query.skip)).toEqual(['0', '100']);
  });

  it('reports a failed deploy with its logs and events, oldest first', async () => {
    const mutx = platform();
    server.setNextDeploymentFails('image pull failed: manifest unknown', ['pulling registry.example.com/agents/hello-agent:abc123', 'ErrImagePull']);
    const created = await mutx.createDeployment(deployRequest('pr-13'));
    const failed = await until(() => mutx.getDeployment(created.id), settled);
    expect(failed).toMatchObject({ phase: 'failed', rawStatus: 'failed' });
    expect(failed.events.at(-1)?.message).toContain('image pull failed: manifest unknown');

    const lines = await mutx.deploymentLogs(created.id);
    const messages = lines.map((line) => line.message);
    expect(messages.indexOf('pulling registry.example.com/agents/hello-agent:abc123')).toBeLessThan(messages.indexOf('ErrImagePull'));
    expect(messages[0]).toMatch(/^create/);
    expect(messages.at(-1)).toContain('image pull failed: manifest unknown');
    expect((await mutx.deploymentLogs(created.id, { maxLines: 2 })).map((line) => line.message)).toEqual(messages.slice(-2));

    // A failed deployment is replaced by the next deploy of the same image, not reused.
    const retried = await mutx.createDeployment(deployRequest('pr-13'));
    expect(retried.id).not.toBe(created.id);
    expect(server.agents()).toHaveLength(1);
  });

  it('reconciles creates whose answers were lost instead of creating twice', async () => {
    const mutx = platform();
    server.failNext(/^POST \/v1\/agents$/, 502);
    server.failNext(/^POST \/v1\/deployments$/, 503);
    const created = await mutx.createDeployment(deployRequest('pr-14'));
    expect(server.agents()).toHaveLength(1);
    expect(server.deployments()).toHaveLength(1);
    expect(created.id).toBe(server.deployments()[0].id);
    expect(created.previewLabel).toBe('pr-14');
    expect(server.requests.filter((request) => request.method === 'POST').map((request) => `${request.path} ${request.status}`)).toEqual(['/v1/agents 502', '/v1/deployments 503']);
  });

  it('prints a validation error with the field it is about', async () => {
    const mutx = platform();
    // A request MUTX's models refuse: the 422 envelope's message alone says nothing of which field.
    const error = await mutx.http
      .json({ call: 'create deployment', method: 'POST', path: '/v1/deployments', json: { agent_id: 'not-a-uuid', replicas: 11 }, idempotent: true })
      .catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect(String((error as Error).message)).toContain('Request validation failed: agent_id: Input should be a valid UUID; replicas: Input should be less than or equal to 10');
  });

  it('rejects a wrong key without leaking it', async () => {
    const mutx = new MutxPlatform({ baseUrl: server.url, apiKey: 'wrong-key-abcdef', retry: { retries: 0 }, env: {} });
    const error = await mutx.createDeployment(deployRequest('pr-15')).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(String(error)).toContain('Token verification failed');
    expect(String(error)).not.toContain('wrong-key-abcdef');
    expect(server.agents()).toEqual([]);
  });
});

describe('MUTX previews of two repositories on one account', () => {
  it("records the repository on each preview agent, never reuses another repository's, and a repository's teardown leaves the other's", async () => {
    const mutx = platform();
    const fromA = await mutx.createDeployment({ ...deployRequest('pr-5'), sourceRepo: 'github.com/acme/agents' });
    const fromB = await mutx.createDeployment({ ...deployRequest('pr-5'), sourceRepo: 'github.com/other/agents' });
    expect(fromA.sourceRepo).toBe('github.com/acme/agents');
    expect(fromB.sourceRepo).toBe('github.com/other/agents');
    expect(server.agents().filter((agent) => agent.name === 'hello-agent-pr-5')).toHaveLength(2);
    await until(() => mutx.getDeployment(fromB.id), settled);

    const outcome = await teardownPreviews(mutx, { label: 'pr-5', repo: { host: 'github.com', owner: 'acme', repo: 'agents' } });
    expect(outcome.deleted.map((deployment) => deployment.id)).toEqual([fromA.id]);
    expect(outcome.otherRepos).toHaveLength(1);
    expect((await mutx.getDeployment(fromB.id)).phase).toBe('healthy');
    expect(server.agents()).toHaveLength(1);
  });
});
