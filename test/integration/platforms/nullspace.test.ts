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

function platform(notices: string[] = []): NullspacePlatform {
  return new NullspacePlatform({ baseUrl: server.url, apiKey: KEY, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {}, onNotice: (message) => notices.push(message) });
}

const live = () => server.services().filter((service) => !['stopped', 'stopping'].includes(service.status));
const posts = (pattern: RegExp) => server.requests.filter((request) => request.method === 'POST' && pattern.test(request.path));

function buildRequest(label: string | undefined = 'pr-7'): BuildRequest {
  return {
    previewLabel: label,
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

  it("creates the preview's version in its own deployment from a bundle manifest and config derived from the agent's project", async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest('PR 7'));
    expect(build).toMatchObject({ phase: 'succeeded', rawStatus: 'ready', agentName: 'hello-agent', treeHash: packed.treeHash, sourceRepo: 'github.com/acme/bots' });
    const [preview] = server.agentDeployments();
    expect(preview).toMatchObject({
      name: 'hello-agent-pr-7',
      mode: 'service',
      metadata: { agent_name: 'hello-agent', preview_label: 'pr-7', pr: 7, source_repo: 'github.com/acme/bots' },
    });
    expect(build.id.split(':')[0]).toBe(preview.id);

    const plain = gunzipSync(await readFile(packed.archivePath));
    const digest = `sha256:${createHash('sha256').update(plain).digest('hex')}`;
    const [create] = posts(/\/versions$/);
    expect(create.path).toBe(`/v1/agent-deployments/${preview.id}/versions`);
    expect(create.body!.config).toEqual({
      name: 'hello-agent-pr-7',
      template: 'base',
      workdir: '/workspace/project',
      // From the example's Dockerfile: its CMD, its EXPOSE, its requirements file.
      entrypoint: 'uvicorn project.acp:acp --host 0.0.0.0 --port 8000',
      install: 'python -m pip install -r project/requirements.txt',
      env: { required: [], optional: [] },
      service: { port: 8000, readiness: { type: 'tcp' } },
    });
    const manifest = create.body!.bundle_manifest;
    expect(manifest).toMatchObject({ bundle_digest: digest, archive_format: 'tar', file_count: packed.fileCount, materialization_path: '/workspace/project' });
    expect(manifest.entries.map((entry: { path: string }) => entry.path).sort()).toEqual(expect.arrayContaining(['Dockerfile', 'project/acp.py', 'project/requirements.txt']));
    const dockerfile = manifest.entries.find((entry: { path: string }) => entry.path === 'Dockerfile');
    expect(dockerfile.digest).toBe(
      `sha256:${createHash('sha256')
        .update(await readFile('examples/hello-agent/Dockerfile'))
        .digest('hex')}`,
    );

    // The bundle went up as a plain tar whose digest the manifest announced.
    const upload = server.requests.find((request) => request.method === 'PUT')!;
    expect(upload.headers['content-type']).toBe('application/x-tar');
    expect(upload.headers['x-nullspace-bundle-digest']).toBe(digest);
    expect(upload.bodyBytes).toBe(plain.length);
    expect(server.requests.filter((request) => request.method === 'POST').every((request) => request.headers['idempotency-key'])).toBe(true);
    // What this client made it answers from memory: no undocumented version read.
    expect((await nullspace.getBuild(build.id)).phase).toBe('succeeded');
    expect(server.requests.some((request) => request.method === 'GET' && /\/versions\//.test(request.path))).toBe(false);
  });

  it('starts the service in the same deployment as its version, waits for it, and a teardown leaves nothing', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    const deployment = await nullspace.createDeployment(deployRequest(build));
    expect(deployment).toMatchObject({ previewLabel: 'pr-7', agentName: 'hello-agent', buildId: build.id, sourceRepo: 'github.com/acme/bots' });
    const [service] = server.services();
    expect(`${service.deployment_id}:${service.version_id}`).toBe(build.id);
    const healthy = await until(
      () => nullspace.getDeployment(deployment.id),
      (current) => current.phase === 'healthy',
    );
    expect(healthy).toMatchObject({ rawStatus: 'ready', url: undefined });
    expect((await nullspace.listDeployments({ previewLabel: 'pr-7' })).map((d) => d.id)).toEqual([deployment.id]);
    expect(await nullspace.listDeployments({ previewLabel: 'pr-8' })).toEqual([]);

    const outcome = await teardownPreviews(platform(), { label: 'pr-7' });
    expect(outcome.deleted.map((d) => d.id)).toEqual([deployment.id]);
    // Nothing of the preview is left: no service running, its agent deployment deleted.
    expect(live()).toEqual([]);
    expect(server.agentDeployments().map((d) => d.status)).toEqual(['deleted']);
    const again = await teardownPreviews(platform(), { label: 'pr-7' });
    expect(again).toMatchObject({ deleted: [], alreadyGone: [], failed: [] });
    expect(await nullspace.deleteDeployment(deployment.id)).toBe('already-gone');
  });

  it('a second deploy of the unchanged tree is a new version of the same deployment; the reopened preview starts afresh after a teardown', async () => {
    const nullspace = platform();
    const first = await nullspace.createBuild(buildRequest());
    const firstDeploy = await nullspace.createDeployment(deployRequest(first));
    const second = await nullspace.createBuild(buildRequest());
    expect(second.id.split(':')[0]).toBe(first.id.split(':')[0]);
    expect(second.id).not.toBe(first.id);
    const secondDeploy = await nullspace.createDeployment(deployRequest(second));
    expect(secondDeploy.id).not.toBe(firstDeploy.id);
    // The older service is replaced the way every platform's is: deleted once the new one is healthy.
    await until(
      () => nullspace.getDeployment(secondDeploy.id),
      (current) => current.phase === 'healthy',
    );
    expect(await nullspace.deleteDeployment(firstDeploy.id)).toBe('deleted');
    expect(server.agentDeployments().map((d) => d.status)).toEqual(['active']);

    await teardownPreviews(nullspace, { label: 'pr-7' });
    const reopened = await nullspace.createBuild(buildRequest());
    expect(reopened.id.split(':')[0]).not.toBe(first.id.split(':')[0]);
    expect(server.agentDeployments().map((d) => d.status)).toEqual(['deleted', 'active']);
  });

  it('refuses to start a service from a version of another deployment', async () => {
    const nullspace = platform();
    const forPr7 = await nullspace.createBuild(buildRequest('pr-7'));
    const forPr8 = await nullspace.createBuild(buildRequest('pr-8'));
    // What the old adapter did: a version of one deployment started in another.
    const raw = await fetch(`${server.url}/v1/agent-deployments/${forPr8.id.split(':')[0]}/services`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'k-cross' },
      body: JSON.stringify({ version_id: forPr7.id.split(':')[1], envs: {} }),
    });
    expect(raw.status).toBe(404);
    await expect(nullspace.createDeployment(deployRequest(forPr7, 'pr-8'))).rejects.toThrow(/belongs to the preview "pr-7", not "pr-8"/);
    expect(server.services()).toEqual([]);
  });

  it('retries creates whose answers were lost without making a second version or service', async () => {
    const nullspace = platform();
    server.failNext(/^POST \/v1\/agent-deployments$/, 503);
    server.failNext(/^POST \/v1\/agent-deployments\/[^/]+\/versions$/, 502);
    const build = await nullspace.createBuild(buildRequest());
    server.failNext(/^POST \/v1\/agent-deployments\/[^/]+\/services$/, 503);
    const deployment = await nullspace.createDeployment(deployRequest(build));
    expect(server.agentDeployments()).toHaveLength(1);
    expect(server.versions()).toHaveLength(1);
    expect(server.services()).toHaveLength(1);
    expect(server.services()[0].id).toBe(deployment.id.split(':')[1]);
  });

  it('prints a refused version with its reason, and a bad key without the key', async () => {
    const nullspace = platform();
    const build = await nullspace.createBuild(buildRequest());
    const refused = await nullspace.http
      .json({
        call: 'create version',
        method: 'POST',
        path: `/v1/agent-deployments/${build.id.split(':')[0]}/versions`,
        json: { metadata: {} },
        headers: { 'idempotency-key': 'k-bad' },
        idempotent: true,
      })
      .catch((err: Error) => err);
    expect(String((refused as Error).message)).toContain('HTTP 422: bundle_manifest is required');

    const bad = new NullspacePlatform({ baseUrl: server.url, apiKey: 'ns-wrong-key-31337', retry: { retries: 0 }, env: {} });
    const error = await bad.createBuild(buildRequest()).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(String((error as Error).message)).toMatch(/HTTP 401/);
    expect(String((error as Error).message)).not.toContain('ns-wrong-key-31337');
  });

  it('reports a failing service with its reason', async () => {
    const nullspace = platform();
    server.crashNextVersion('process exited with code 1: ModuleNotFoundError: No module named agentex');
    const build = await nullspace.createBuild(buildRequest());
    const deployment = await nullspace.createDeployment(deployRequest(build));
    const failed = await until(
      () => nullspace.getDeployment(deployment.id),
      (current) => current.phase !== 'progressing',
    );
    expect(failed.phase).toBe('failed');
    expect(failed.events.map((event) => event.message)).toContain('process exited with code 1: ModuleNotFoundError: No module named agentex');
    const logs = await nullspace.deploymentLogs(deployment.id);
    expect(logs.some((line) => line.level === 'error' && /ModuleNotFoundError/.test(line.message))).toBe(true);
  });

  it('never lets the API key or an edge_token reach anything it returns or throws', async () => {
    const nullspace = platform();
    const seen: unknown[] = [];
    const build = await nullspace.createBuild(buildRequest());
    const deployment = await nullspace.createDeployment(deployRequest(build));
    seen.push(build, deployment);
    const healthy = await until(
      () => nullspace.getDeployment(deployment.id),
      (current) => current.phase === 'healthy',
    );
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
    expect(text).not.toMatch(/edge_token=(?!\*\*\*)/);
    expect(text).toContain('edge_token=***');
    expect(text).not.toContain(KEY);
    expect((healthy as Deployment).url).toBeUndefined();
  });
});

describe('Nullspace without its undocumented routes', () => {
  it('deploys without them, says plainly what it cannot find or delete, and still stops the service', async () => {
    await server.close();
    server = await startNullspaceServer({ apiKey: KEY, stepMs: 40, routes: { listDeployments: false, getOne: false, deleteDeployment: false } });
    const notices: string[] = [];
    const nullspace = platform(notices);
    const build = await nullspace.createBuild(buildRequest());
    const deployment = await nullspace.createDeployment(deployRequest(build));
    await until(
      () => nullspace.getDeployment(deployment.id),
      (current) => current.phase === 'healthy',
    );

    await expect(nullspace.listDeployments({ previewLabel: 'pr-7' })).rejects.toThrow(/HTTP 405: Nullspace does not offer a list of agent deployments.*nullspace agent stop/);
    await expect(platform().getBuild(build.id)).rejects.toThrow(/does not offer GET .*versions.* \(405\)/);
    expect(await nullspace.deleteDeployment(deployment.id)).toBe('deleted');
    expect(live()).toEqual([]);
    expect(notices).toEqual([expect.stringMatching(/does not offer DELETE \/v1\/agent-deployments\/adpl_\w+ \(405\): agent deployment adpl_\w+ stays, with no service running/)]);
  });
});

describe('Nullspace previews of two repositories with the same agent and label', () => {
  it("gives each its own deployment, so one repository's teardown leaves the other's preview", async () => {
    const nullspace = platform();
    const fromA = await nullspace.createBuild(buildRequest());
    const fromB = await nullspace.createBuild({ ...buildRequest(), provenance: { ...buildRequest().provenance, repo: 'github.com/other/bots' } });
    expect(fromB.id.split(':')[0]).not.toBe(fromA.id.split(':')[0]);
    expect(server.agentDeployments().map((d) => d.name)).toEqual(['hello-agent-pr-7', expect.stringMatching(/^hello-agent-pr-7-[0-9a-f]{6}$/)]);
    const previewA = await nullspace.createDeployment(deployRequest(fromA));
    const previewB = await nullspace.createDeployment(deployRequest(fromB));
    await until(
      () => nullspace.getDeployment(previewB.id),
      (deployment) => deployment.phase !== 'progressing' && deployment.phase !== 'pending',
    );

    const outcome = await teardownPreviews(nullspace, { label: 'pr-7', repo: { host: 'github.com', owner: 'acme', repo: 'bots' } });
    expect(outcome.deleted.map((deployment) => deployment.id)).toEqual([previewA.id]);
    expect(outcome.otherRepos).toHaveLength(1);
    expect((await nullspace.getDeployment(previewB.id)).phase).toBe('healthy');
  });
});
