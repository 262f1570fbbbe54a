import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { loadManifest, packContext } from '../../../src/context/index.js';
import type { PackedContext } from '../../../src/context/types.js';
import { ApiError, InputError } from '../../../src/errors.js';
import { teardownPreviews } from '../../../src/previews/teardown.js';
import { NullspacePlatform } from '../../../src/platforms/nullspace/nullspace.js';
import type { Build, BuildRequest, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { until } from '../../support/wait.js';
import { startNullspaceServer, type NullspaceServer } from '../../support/servers/nullspace.js';

const KEY = 'ns-test-key-0123456789';
let server: NullspaceServer;
let packed: PackedContext;

beforeAll(async () => {
  packed = await packContext(await loadManifest('examples/hello-agent/manifest.yaml'));
});
afterAll(async () => {
  await packed.dispose();
  clearSecrets();
});
beforeEach(async () => {
  server = await startNullspaceServer({ apiKey: KEY, stepMs: 40 });
});
afterEach(async () => server.close());

function platform(): NullspacePlatform {
  return new NullspacePlatform({ baseUrl: server.url, apiKey: KEY, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

function buildRequest(): BuildRequest {
  return {
    agentName: 'hello-agent',
    archivePath: packed.archivePath,
    archiveBytes: packed.archiveBytes,
    treeHash: packed.treeHash,
    imageName: 'hello-agent',
    imageTag: packed.treeHash.slice(0, 12),
    provenance: { commit: 'c0ffee', ref: 'refs/pull/7/head', repo: 'github.com/acme/bots' },
  };
}

function deployRequest(build: Build, label = 'pr-7') {
  return {
    agentName: 'hello-agent',
    manifestText: 'agent:\n  name: hello-agent\n',
    environmentText: '',
    buildId: build.id,
    preview: { label, expiresAt: new Date(Date.now() + 3_600_000) },
  };
}


describe('Nullspace adapter over HTTP', () => {
  it('reads settings from the environment and names the missing field', () => {
    expect(() => new NullspacePlatform({ env: { NULLSPACE_API_URL: 'http://x' } })).toThrow(InputError);
    expect(() => new NullspacePlatform({ env: { NULLSPACE_API_URL: 'http://x' } })).toThrow(/api-key/);
    expect(() => new NullspacePlatform({ env: { NULLSPACE_API_KEY: 'k-123456' } })).toThrow(/api-url/);
    expect(new NullspacePlatform({ env: { NULLSPACE_API_URL: 'http://x/', NULLSPACE_API_KEY: 'k-123456' } }).http.baseUrl).toBe('http://x');
  });

  it('deploys a packed preview, waits for it, lists it by label and tears it down twice', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    expect(build).toMatchObject({ phase: 'succeeded', rawStatus: 'active', agentName: 'hello-agent', treeHash: packed.treeHash });
    expect((await nullspace.getBuild(build.id)).phase).toBe('succeeded');

    // The bundle went up as a plain tar whose digest was announced.
    const upload = server.requests.find((request) => request.method === 'PUT')!;
    const plain = gunzipSync(await readFile(packed.archivePath));
    expect(upload.headers['content-type']).toBe('application/x-tar');
    expect(upload.headers['x-nullspace-bundle-digest']).toBe(`sha256:${createHash('sha256').update(plain).digest('hex')}`);
    expect(upload.bodyBytes).toBe(plain.length);
    expect(server.requests.filter((request) => request.method === 'POST').every((request) => request.headers['idempotency-key'])).toBe(true);

    const deployment = await nullspace.createDeployment(deployRequest(build));
    expect(deployment).toMatchObject({ phase: 'progressing', rawStatus: 'starting', previewLabel: 'pr-7', agentName: 'hello-agent', buildId: build.id });
    expect(server.agentDeployments().find((d) => d.name === 'hello-agent-pr-7')?.metadata).toEqual({
      preview_label: 'pr-7',
      agent_name: 'hello-agent',
      pr: 7,
      build_deployment_id: build.id.split(':')[0],
    });

    const healthy = await until(() => nullspace.getDeployment(deployment.id), (current) => current.phase === 'healthy');
    expect(healthy).toMatchObject({ phase: 'healthy', rawStatus: 'ready', url: undefined });

    const listed = await nullspace.listDeployments({ previewLabel: 'pr-7' });
    expect(listed.map((d) => d.id)).toEqual([deployment.id]);
    expect(await nullspace.listDeployments({ previewLabel: 'pr-8' })).toEqual([]);
    expect((await nullspace.listDeployments({ agentName: 'hello-agent', buildId: build.id })).map((d) => d.id)).toEqual([deployment.id]);

    expect(await nullspace.deleteDeployment(deployment.id)).toBe('deleted');
    expect(await nullspace.deleteDeployment(deployment.id)).toBe('already-gone');
    const gone = await until(() => nullspace.getDeployment(deployment.id), (current) => current.rawStatus === 'stopped');
    expect(gone.phase).toBe('deleted');
    expect(await nullspace.deleteDeployment(deployment.id)).toBe('already-gone');
    expect(await nullspace.deleteDeployment(`${deployment.id.split(':')[0]}:adsvc_missing`)).toBe('already-gone');

    // A later deploy of the same version under the same label starts anew rather than replaying the stopped one.
    const again = await nullspace.createDeployment(deployRequest(build));
    expect(again.id).not.toBe(deployment.id);
    expect(again.phase).toBe('progressing');
  });

  it('follows many pages of services', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await nullspace.createDeployment(deployRequest(build));
      ids.push(created.id);
      await nullspace.deleteDeployment(created.id);
      await until(() => nullspace.getDeployment(created.id), (current) => current.rawStatus === 'stopped');
    }
    // Pages of 100 hold them all; force small pages through the raw query to check next_cursor works.
    const raw = await fetch(`${server.url}/v1/agent-deployments/${ids[0].split(':')[0]}/services?limit=1`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await raw.json()) as { next_cursor?: string }).next_cursor).toBeTruthy();
    expect((await nullspace.listDeployments({ previewLabel: 'pr-7' })).map((d) => d.id).sort()).toEqual([...ids].sort());
  });

  it('retries a create whose answer was lost without starting a second service', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    server.failNext(/^POST \/v1\/agent-deployments\/[^/]+\/services$/, 503, 2);
    server.failNext(/^POST \/v1\/agent-deployments\/[^/]+\/versions$/, 502, 1);
    const deployment = await nullspace.createDeployment(deployRequest(build));
    expect(server.services()).toHaveLength(1);
    expect(server.services()[0].id).toBe(deployment.id.split(':')[1]);
    const creates = server.requests.filter((request) => /\/services$/.test(request.path) && request.method === 'POST');
    expect(creates.map((request) => request.status)).toEqual([503, 503, 201]);
    expect(new Set(creates.map((request) => request.headers['idempotency-key'])).size).toBe(1);

    // A rerun of the same build after a lost answer lands on the same version.
    const rebuilt = await nullspace.createBuild(buildRequest());
    expect(rebuilt.id).toBe(build.id);
    expect(server.versions()).toHaveLength(1);
  });

  it('answers a reused key with another body with 422', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/agent-deployments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'k1' },
        body: JSON.stringify(body),
      });
    const first = await post({ name: 'one', mode: 'service' });
    const replay = await post({ name: 'one', mode: 'service' });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(((await replay.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    expect((await post({ name: 'two', mode: 'service' })).status).toBe(422);
  });

  it('reports a failing service with its events and logs', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    server.crash(build.id.split(':')[1], 'process exited with code 1: ModuleNotFoundError: No module named agentex');
    const deployment = await nullspace.createDeployment(deployRequest(build, 'pr-9'));
    const failed = await until(() => nullspace.getDeployment(deployment.id), (current) => current.phase !== 'progressing');
    expect(failed).toMatchObject({ phase: 'failed', rawStatus: 'failed' });
    expect(failed.events.map((event) => event.message).join('\n')).toMatch(/ModuleNotFoundError/);
    const logs = await nullspace.deploymentLogs(deployment.id);
    expect(logs.some((line) => line.level === 'error' && /ModuleNotFoundError/.test(line.message))).toBe(true);
    expect(logs.at(-1)?.message).toBe('status: failed');
    // A failed service can still be stopped.
    expect(await nullspace.deleteDeployment(deployment.id)).toBe('deleted');
  });

  it('refuses to start a service from a version without a bundle (illegal state)', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    const deploymentId = build.id.split(':')[0];
    const raw = await fetch(`${server.url}/v1/agent-deployments/${deploymentId}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'empty-version' },
      body: JSON.stringify({ metadata: {} }),
    });
    const empty = (await raw.json()) as { id: string };
    expect((await nullspace.getBuild(`${deploymentId}:${empty.id}`)).phase).toBe('queued');
    const attempt = nullspace.createDeployment(deployRequest({ ...build, id: `${deploymentId}:${empty.id}` }));
    await expect(attempt).rejects.toThrow(ApiError);
    await expect(attempt).rejects.toMatchObject({ status: 409 });
    await expect(attempt).rejects.toThrow(/upload its bundle first/);
    expect(server.services()).toHaveLength(0);
    await expect(nullspace.getDeployment('not-an-id')).rejects.toThrow(InputError);
  });

  it('never lets an edge_token reach anything it returns or throws', async () => {
    const nullspace = platform();
    const seen: unknown[] = [];
    const build = await nullspace.createBuild(buildRequest());
    const deployment = await nullspace.createDeployment(deployRequest(build));
    seen.push(build, deployment);
    const healthy = await until(() => nullspace.getDeployment(deployment.id), (current) => current.phase === 'healthy');
    seen.push(healthy, await nullspace.listDeployments({ previewLabel: 'pr-7' }), await nullspace.listDeployments({}), await nullspace.deploymentLogs(deployment.id));

    // The server did hand out signed URLs.
    expect(server.edgeTokens.length).toBeGreaterThan(0);
    const rawService = server.services()[0];
    expect(rawService.public_url).toContain('edge_token=');

    // An error whose body echoes the signed URL is cleared of it.
    server.failNext(/^GET \/v1\/agent-deployments\/[^/]+\/services\/[^/]+$/, 400, 1, 'before', `bad request for ${rawService.public_url}`);
    const errors: Error[] = [];
    await nullspace.getDeployment(deployment.id).catch((err: Error) => errors.push(err));
    seen.push(...errors.map((err) => ({ ...err, message: err.message, stack: err.stack })));

    const text = JSON.stringify(seen);
    for (const token of server.edgeTokens) expect(text).not.toContain(token);
    // The parameter may be named in an error, masked; its value never appears.
    expect(text).not.toMatch(/edge_token=(?!\*\*\*)/);
    expect(text).toContain('edge_token=***');
    expect(text).not.toContain(KEY);
    expect((healthy as Deployment).url).toBeUndefined();
  });
});

describe('Nullspace previews of two repositories with the same tree', () => {
  it("keeps a version per repository, so one repository's teardown leaves the other's preview", async () => {
    const nullspace = platform();
    const fromA = await nullspace.createBuild(buildRequest());
    const fromB = await nullspace.createBuild({ ...buildRequest(), provenance: { ...buildRequest().provenance, repo: 'github.com/other/bots' } });
    expect(fromB.id).not.toBe(fromA.id);
    expect((await nullspace.getBuild(fromB.id)).sourceRepo).toBe('github.com/other/bots');
    const previewA = await nullspace.createDeployment(deployRequest(fromA));
    const previewB = await nullspace.createDeployment(deployRequest(fromB));
    await until(() => nullspace.getDeployment(previewB.id), (deployment) => deployment.phase !== 'progressing' && deployment.phase !== 'pending');

    const outcome = await teardownPreviews(nullspace, { label: 'pr-7', repo: { host: 'github.com', owner: 'acme', repo: 'bots' } });
    expect(outcome.deleted.map((deployment) => deployment.id)).toEqual([previewA.id]);
    expect(outcome.otherRepos).toBe(1);
    expect((await nullspace.getDeployment(previewB.id)).phase).toBe('healthy');
  });
});
