import { readFile } from 'node:fs/promises';
import { ApiError, InputError, UnsupportedError } from '../../../src/errors.js';
import { teardownPreviews } from '../../../src/previews/teardown.js';
import { MutxPlatform } from '../../../src/platforms/mutx/mutx.js';
import type { DeployRequest, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets, redact } from '../../../src/secrets/redact.js';
import { until } from '../../support/wait.js';
import { startMutxServer, type MutxServer } from '../../support/servers/mutx.js';

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

function deployRequest(label?: string): DeployRequest {
  return {
    agentName: 'hello-agent',
    manifestText,
    environmentText: '',
    image: { name: 'registry.example.com/agents/hello-agent', tag: 'abc123' },
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
    expect(mutx.capabilities).toEqual({ serverBuild: false, buildLogStream: false, reuseByTreeHash: false, deploymentUrl: false, previewExpiry: false });
  });

  it('has no builds: build calls are unsupported and nothing is reusable', async () => {
    const mutx = platform();
    await expect(mutx.findReusableBuild('hello-agent', 'abc')).resolves.toBeUndefined();
    await expect(
      mutx.createBuild({ agentName: 'hello-agent', archivePath: '/nope', archiveBytes: 0, treeHash: 'abc', imageName: 'x', imageTag: 'y' }),
    ).rejects.toThrow(UnsupportedError);
    await expect(mutx.getBuild('b1')).rejects.toThrow(/no build API/);
    await expect(mutx.cancelBuild('b1')).rejects.toThrow(UnsupportedError);
    await expect(mutx.streamBuildLogs('b1', () => undefined)).rejects.toThrow(UnsupportedError);
    expect(server.requests).toHaveLength(0);
  });

  it('deploys a preview, waits for it, lists it by label and tears it down twice', async () => {
    const mutx = platform();
    const created = await mutx.createDeployment(deployRequest('PR 7'));
    expect(created).toMatchObject({ phase: 'progressing', rawStatus: 'pending', agentName: 'hello-agent', previewLabel: 'pr-7', release: 'hello-agent-pr-7' });
    expect(created.url).toBeUndefined();

    // One agent per preview, carrying the label in its name and config, then a deployment of it.
    const agentCreate = server.requests.find((request) => request.method === 'POST' && request.path === '/v1/agents')!;
    expect(agentCreate.body).toMatchObject({
      name: 'hello-agent-pr-7',
      type: 'custom',
      config: { preview_label: 'pr-7', agent_name: 'hello-agent', image: 'registry.example.com/agents/hello-agent:abc123' },
    });
    expect(agentCreate.headers.authorization).toBe(`Bearer ${KEY}`);
    const deploymentCreate = server.requests.find((request) => request.method === 'POST' && request.path === '/v1/deployments')!;
    expect(deploymentCreate.body).toEqual({ agent_id: server.agents()[0].id, replicas: 1 });
    expect(deploymentCreate.status).toBe(201);

    const healthy = await until(() => mutx.getDeployment(created.id), settled);
    expect(healthy).toMatchObject({ id: created.id, phase: 'healthy', rawStatus: 'running', previewLabel: 'pr-7' });
    expect(healthy.events.map((event) => event.type)).toEqual(['create', 'deploy', 'ready']);

    // Another agent's preview and a real deploy do not show up under the label.
    const other = await mutx.createDeployment({ ...deployRequest('pr-8'), agentName: 'other-agent' });
    const real = await mutx.createDeployment(deployRequest());
    expect(real).toMatchObject({ release: 'hello-agent', previewLabel: undefined, agentName: 'hello-agent' });
    const listed = await mutx.listDeployments({ previewLabel: 'pr-7' });
    expect(listed.map((deployment) => deployment.id)).toEqual([created.id]);
    expect((await mutx.listDeployments({ previewLabel: 'pr-7', agentName: 'other-agent' })).length).toBe(0);
    expect((await mutx.listDeployments({ agentName: 'hello-agent' })).map((d) => d.id).sort()).toEqual([created.id, real.id].sort());
    expect((await mutx.listDeployments({ previewLabel: 'pr-8' })).map((d) => d.id)).toEqual([other.id]);

    // Deploying the same preview again reuses its agent; the list is newest first.
    const again = await mutx.createDeployment(deployRequest('pr-7'));
    expect(server.agents().filter((agent) => agent.name === 'hello-agent-pr-7')).toHaveLength(1);
    expect((await mutx.listDeployments({ previewLabel: 'pr-7' })).map((d) => d.id)).toEqual([again.id, created.id]);

    expect(await mutx.deleteDeployment(created.id)).toBe('deleted');
    expect(server.requests.filter((request) => request.method === 'DELETE').map((request) => request.status)).toEqual([204]);
    expect(await mutx.deleteDeployment(created.id)).toBe('already-gone');
    expect(server.requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
    expect(await mutx.getDeployment(created.id)).toMatchObject({ phase: 'deleted', rawStatus: 'killed' });
    expect(await mutx.deleteDeployment('4f3c2b1a-0000-4000-8000-000000000000')).toBe('already-gone');
  });

  it('gives a new image a new agent and finds previews even when the API drops config fields', async () => {
    await server.close();
    server = await startMutxServer({ apiKey: KEY, stepMs: 30, configKeys: ['model'] });
    const mutx = platform();
    const first = await mutx.createDeployment(deployRequest('pr-5'));
    expect(server.agents()[0].config).toEqual({});
    const second = await mutx.createDeployment({ ...deployRequest('pr-5'), image: { name: 'registry.example.com/agents/hello-agent', tag: 'def456' } });
    const third = await mutx.createDeployment({ ...deployRequest('pr-5'), image: { name: 'registry.example.com/agents/hello-agent', tag: 'def456' } });
    expect(server.agents().map((agent) => agent.name)).toEqual(['hello-agent-pr-5', 'hello-agent-pr-5']);
    const fresh = platform();
    const listed = await fresh.listDeployments({ previewLabel: 'pr-5' });
    expect(listed.map((d) => d.id)).toEqual([third.id, second.id, first.id]);
    expect(listed.every((d) => d.previewLabel === 'pr-5' && d.agentName === 'hello-agent')).toBe(true);
    expect(await fresh.listDeployments({ previewLabel: 'pr-5', agentName: 'other-agent' })).toEqual([]);
  });

  it('pages through deployments with skip, limit and has_more', async () => {
    const mutx = platform();
    const first = await mutx.createDeployment(deployRequest('pr-9'));
    const agentId = server.agents()[0].id;
    // Fill past one page through the API directly.
    for (let i = 0; i < 104; i++) {
      await mutx.http.json({ call: 'seed', method: 'POST', path: '/v1/deployments', json: { agent_id: agentId, replicas: 1 }, idempotent: true });
    }
    const mark = server.requests.length;
    const listed = await mutx.listDeployments({ previewLabel: 'pr-9' });
    expect(listed).toHaveLength(105);
    expect(new Set(listed.map((d) => d.id)).size).toBe(105);
    expect(listed[listed.length - 1].id).toBe(first.id);
    const pages = server.requests.slice(mark).filter((request) => request.method === 'GET' && request.path === '/v1/deployments');
    expect(pages.map((request) => request.query.skip)).toEqual(['0', '100']);
  });

  it('reports a failed deploy with its logs and events, oldest first', async () => {
    const mutx = platform();
    server.setNextDeploymentFails('image pull failed: manifest unknown', ['pulling registry.example.com/agents/hello-agent:abc123', 'ErrImagePull']);
    const created = await mutx.createDeployment(deployRequest('pr-10'));
    const failed = await until(() => mutx.getDeployment(created.id), settled);
    expect(failed).toMatchObject({ phase: 'failed', rawStatus: 'failed' });
    expect(failed.events.at(-1)?.message).toContain('image pull failed: manifest unknown');

    const lines = await mutx.deploymentLogs(created.id);
    const messages = lines.map((line) => line.message);
    expect(messages.indexOf('pulling registry.example.com/agents/hello-agent:abc123')).toBeLessThan(messages.indexOf('ErrImagePull'));
    expect(messages[0]).toMatch(/^create/);
    expect(messages.at(-1)).toContain('image pull failed: manifest unknown');
    for (let i = 1; i < lines.length; i++) expect(Date.parse(lines[i].timestamp!)).toBeGreaterThanOrEqual(Date.parse(lines[i - 1].timestamp!));
    expect((await mutx.deploymentLogs(created.id, { maxLines: 2 })).map((line) => line.message)).toEqual(messages.slice(-2));

    // The API itself sends events newest first.
    const events = await mutx.http.json<{ items: { event_type: string }[]; deployment_status: string }>({
      call: 'events',
      method: 'GET',
      path: `/v1/deployments/${created.id}/events`,
    });
    expect(events.deployment_status).toBe('failed');
    expect(events.items.map((event) => event.event_type)).toEqual(['fail', 'deploy', 'create']);

    // A failed deployment can be restarted, and then runs.
    const restarted = await mutx.restartDeployment(created.id);
    expect(restarted.phase).toBe('progressing');
    expect((await until(() => mutx.getDeployment(created.id), settled)).phase).toBe('healthy');
  });

  it('refuses illegal state changes with a clear 400', async () => {
    const mutx = platform();
    const created = await mutx.createDeployment(deployRequest('pr-11'));
    await until(() => mutx.getDeployment(created.id), settled);

    const restart = mutx.restartDeployment(created.id);
    await expect(restart).rejects.toThrow(ApiError);
    await expect(restart).rejects.toThrow(/HTTP 400: Cannot restart deployment with status 'running'.*only stopped, failed, killed deployments can be restarted/);

    expect((await mutx.scaleDeployment(created.id, 3)).phase).toBe('healthy');
    // Stop the agent (its deployments go to stopped), then scaling is refused.
    await mutx.http.json({ call: 'stop agent', method: 'POST', path: `/v1/agents/${server.agents()[0].id}/stop`, idempotent: true });
    expect(await mutx.getDeployment(created.id)).toMatchObject({ phase: 'deleted', rawStatus: 'stopped' });
    await expect(mutx.scaleDeployment(created.id, 2)).rejects.toThrow(/HTTP 400: Can only scale running deployments \(only running or ready/);
    expect(server.requests.filter((request) => /\/(restart|scale)$/.test(request.path)).map((request) => request.status)).toEqual([400, 200, 400]);
    // A stopped deployment needs no teardown.
    expect(await mutx.deleteDeployment(created.id)).toBe('already-gone');
  });

  it('reconciles a create whose answer was lost instead of creating twice', async () => {
    const mutx = platform();
    server.failNext(/^POST \/v1\/agents$/, 502);
    server.failNext(/^POST \/v1\/deployments$/, 503);
    const created = await mutx.createDeployment(deployRequest('pr-12'));
    expect(server.agents()).toHaveLength(1);
    expect(server.deployments()).toHaveLength(1);
    expect(created.id).toBe(server.deployments()[0].id);
    expect(created.previewLabel).toBe('pr-12');
  });

  it('rejects a wrong key without leaking it', async () => {
    const mutx = new MutxPlatform({ baseUrl: server.url, apiKey: 'wrong-key-abcdef', retry: { retries: 0 }, env: {} });
    const error = await mutx.getDeployment('x').catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(String(error)).not.toContain('wrong-key-abcdef');
  });
});

describe('MUTX previews of two repositories on one account', () => {
  it("records the repository on each preview agent, never reuses another repository's, and a repository's teardown leaves the other's", async () => {
    const mutx = platform();
    const fromA = await mutx.createDeployment({ ...deployRequest('pr-5'), sourceRepo: 'github.com/acme/agents' });
    const fromB = await mutx.createDeployment({ ...deployRequest('pr-5'), sourceRepo: 'github.com/other/agents' });
    expect(fromA.sourceRepo).toBe('github.com/acme/agents');
    expect(fromB.sourceRepo).toBe('github.com/other/agents');
    expect(server.agents().filter((agent) => agent.config?.preview_label === 'pr-5')).toHaveLength(2);
    await until(() => mutx.getDeployment(fromB.id), settled);

    const outcome = await teardownPreviews(mutx, { label: 'pr-5', repo: { host: 'github.com', owner: 'acme', repo: 'agents' } });
    expect(outcome.deleted.map((deployment) => deployment.id)).toEqual([fromA.id]);
    expect(outcome.otherRepos).toBe(1);
    expect((await mutx.getDeployment(fromB.id)).phase).not.toBe('deleted');
  });
});
