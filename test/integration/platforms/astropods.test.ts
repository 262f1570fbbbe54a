import { readFile } from 'node:fs/promises';
import { ApiError, InputError } from '../../../src/errors.js';
import { teardownPreviews } from '../../../src/previews/teardown.js';
import { AstropodsPlatform } from '../../../src/platforms/astropods/astropods.js';
import type { DeployRequest, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets, redact } from '../../../src/secrets/redact.js';
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
afterEach(async () => server?.close());

async function start(extra: { templateFlow?: boolean; credentialUrl?: boolean } = {}): Promise<AstropodsPlatform> {
  server = await startAstropodsServer({ token: TOKEN, account: ACCOUNT, stepMs: 60, ...extra });
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
  it('deploys only a pushed image: without one it sends nothing', async () => {
    const astro = await start();
    await expect(astro.createDeployment({ ...deployRequest('pr-1'), image: undefined })).rejects.toThrow(/field "image"/);
    expect(server.requests).toHaveLength(0);
  });

  for (const templateFlow of [false, true]) {
    it(`deploys a preview (${templateFlow ? 'template' : 'documented'} flow), waits for its URL, lists it and tears it down twice`, async () => {
      const astro = await start({ templateFlow, credentialUrl: true });
      const created = await astro.createDeployment(deployRequest('PR 7'));
      expect(created).toMatchObject({ phase: 'progressing', rawStatus: 'deploying', agentName: 'hello-agent', previewLabel: 'pr-7', release: 'hello-agent-pr-7' });
      expect(created.namespace).toBe('astro-hello-agent-pr-7');
      expect(created.url).toBeUndefined();

      const register = posts(`/agents/${ACCOUNT}/hello-agent-pr-7/register`);
      expect(register).toHaveLength(1);
      expect(register[0].body).toMatchObject({ image: 'registry.example.com/agents/hello-agent:abc123' });
      expect(register[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
      const deploys = posts('/deploy');
      expect(deploys).toHaveLength(1);
      expect(deploys[0].status).toBe(200);
      if (templateFlow) {
        expect(posts(`/agents/${ACCOUNT}/hello-agent-pr-7/deployment-template`)[0].status).toBe(200);
        expect(deploys[0].headers['x-template-signature']).toMatch(/^[0-9a-f]{64}$/);
        expect(deploys[0].body).toMatchObject({ account: ACCOUNT, name: 'hello-agent-pr-7', display_name: 'hello-agent-pr-7', interfaces: ['web'] });
      } else {
        expect(posts(`/agents/${ACCOUNT}/hello-agent-pr-7/deployment-template`)[0].status).toBe(404);
        expect(deploys[0].headers['x-template-signature']).toBeUndefined();
        expect(deploys[0].body).toEqual({ account: ACCOUNT, name: 'hello-agent-pr-7', display_name: 'hello-agent-pr-7' });
      }

      const healthy = await until(() => astro.getDeployment(created.id), settled);
      expect(healthy).toMatchObject({ id: created.id, phase: 'healthy', rawStatus: 'running', previewLabel: 'pr-7', agentName: 'hello-agent' });
      // The admin URL carries a token and is skipped; the ClusterIP service endpoint is never used.
      expect(healthy.url).toBe(`https://hello-agent-pr-7.${ACCOUNT}.astropods.app`);

      // Another preview and a real deploy of the same agent do not show up under the label.
      await astro.createDeployment(deployRequest('pr-8'));
      const real = await astro.createDeployment(deployRequest());
      expect(real).toMatchObject({ release: 'hello-agent', previewLabel: undefined, agentName: 'hello-agent' });
      expect((await astro.listDeployments({ previewLabel: 'pr-7' })).map((d) => d.id)).toEqual([created.id]);
      expect((await astro.listDeployments({ previewLabel: 'pr-7', agentName: 'other-agent' })).map((d) => d.id)).toEqual([]);
      // A fresh client (no memory of the deploy) finds it by display name too.
      const fresh = new AstropodsPlatform({ baseUrl: server.url, token: TOKEN, account: ACCOUNT, env: {} });
      const listed = await fresh.listDeployments({ previewLabel: 'pr-7', agentName: 'hello-agent' });
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ id: created.id, previewLabel: 'pr-7', agentName: 'hello-agent', phase: 'healthy' });
      expect((await fresh.listDeployments({ previewLabel: 'pr-7' }))[0]).toMatchObject({ id: created.id, agentName: 'hello-agent' });
      expect(await fresh.listDeployments({ agentName: 'hello-agent' })).toHaveLength(3);
      expect(server.requests.find((request) => request.path === '/api/v1/deployments')?.query).toEqual({ account: ACCOUNT });

      // Deploying the same preview again updates its deployment in place.
      const again = await astro.createDeployment(deployRequest('pr-7', 'def456'));
      expect(again.id).toBe(created.id);
      expect(server.deployments().filter((d) => d.display_name === 'hello-agent-pr-7')).toHaveLength(1);
      expect(server.deployments().find((d) => d.id === created.id)?.image).toBe('registry.example.com/agents/hello-agent:def456');

      expect(await astro.deleteDeployment(created.id)).toBe('deleted');
      expect(await astro.deleteDeployment(created.id)).toBe('already-gone');
      expect(posts('/undeploy').map((request) => [request.body, request.status])).toEqual([
        [{ deployment_id: created.id }, 200],
        [{ deployment_id: created.id }, 404],
      ]);
      expect(await astro.listDeployments({ previewLabel: 'pr-7' })).toEqual([]);
    });
  }

  for (const templateFlow of [false, true]) {
    it(`moves to a deterministic suffixed name when another agent holds the display name (${templateFlow ? 'template' : 'documented'} flow)`, async () => {
      const astro = await start({ templateFlow });
      server.occupy('hello-agent-pr-9', 'someone-else');
      const created = await astro.createDeployment(deployRequest('pr-9'));
      expect(created.release).toMatch(/^hello-agent-pr-9-[0-9a-f]{6}$/);
      const conflicts = server.requests.filter((request) => request.status === 409);
      expect(conflicts).toHaveLength(1);
      expect(conflicts[0].path).toBe(templateFlow ? `/api/v1/agents/${ACCOUNT}/hello-agent-pr-9/deployment-template` : '/api/v1/deploy');
      await until(() => astro.getDeployment(created.id), settled);

      // The next deploy goes straight to the same name, and the list finds it from the names alone.
      const mark = server.requests.length;
      const again = await astro.createDeployment(deployRequest('pr-9', 'def456'));
      expect(again).toMatchObject({ id: created.id, release: created.release });
      expect(server.requests.slice(mark).filter((request) => request.status === 409)).toHaveLength(0);
      const fresh = new AstropodsPlatform({ baseUrl: server.url, token: TOKEN, account: ACCOUNT, env: {} });
      expect((await fresh.listDeployments({ previewLabel: 'pr-9', agentName: 'hello-agent' })).map((d) => d.id)).toEqual([created.id]);
      expect((await fresh.listDeployments({ previewLabel: 'pr-9' })).map((d) => d.id)).toEqual([created.id]);
    });
  }

  it('fails clearly when every name is taken', async () => {
    const astro = await start();
    server.occupy('hello-agent-pr-3', 'someone-else');
    const first = await astro.createDeployment(deployRequest('pr-3'));
    expect(await astro.deleteDeployment(first.id)).toBe('deleted');
    server.occupy(first.release!, 'another-one');
    const error = await astro.createDeployment(deployRequest('pr-3')).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/HTTP 409: every display name tried for hello-agent-pr-3 is taken.*hello-agent-pr-3, hello-agent-pr-3-[0-9a-f]{6}/);
  });

  it('reuses a deployment of its own agent when the server answers 409 for it', async () => {
    const astro = await start();
    const first = await astro.createDeployment(deployRequest('pr-6'));
    server.failNext(/^POST \/deploy$/, 409, 1);
    const again = await astro.createDeployment(deployRequest('pr-6', 'def456'));
    expect(again).toMatchObject({ id: first.id, release: 'hello-agent-pr-6', previewLabel: 'pr-6' });
    expect(posts('/deploy').map((request) => [request.body?.display_name, request.status])).toEqual([
      ['hello-agent-pr-6', 200],
      [undefined, 409],
    ]);
    expect(server.deployments()).toHaveLength(1);
  });

  it('reports a 207 partial deploy as failed, with its errors as events and logs', async () => {
    const astro = await start();
    server.partialNextDeploy(['ingress hello-agent-pr-4: certificate not issued', 'service web: port 8080 not exposed']);
    const created = await astro.createDeployment(deployRequest('pr-4'));
    expect(posts('/deploy')[0].status).toBe(207);
    expect(created).toMatchObject({ phase: 'failed', rawStatus: 'partial', previewLabel: 'pr-4', url: undefined });
    expect(created.events.map((event) => event.message)).toEqual(['ingress hello-agent-pr-4: certificate not issued', 'service web: port 8080 not exposed']);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const later = await astro.getDeployment(created.id);
    expect(later).toMatchObject({ phase: 'failed', rawStatus: 'partial', url: undefined });

    const lines = await astro.deploymentLogs(created.id);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(created.events.map((event) => event.message));
    expect(lines[0]).toMatchObject({ level: 'info', message: 'Namespace/astro-hello-agent-pr-4: configured' });
    expect((await astro.deploymentLogs(created.id, { maxLines: 1 })).map((line) => line.message)).toEqual(['service web: port 8080 not exposed']);
    // A failed deploy is still torn down by id.
    expect(await astro.deleteDeployment(created.id)).toBe('deleted');
  });

  it('retries transient failures and reports lasting ones without the token', async () => {
    const astro = await start({ templateFlow: true });
    server.failNext(/^POST \/deploy$/, 503, 1);
    server.failNext(/^POST \/agents\/.*\/register$/, 502, 1);
    const created = await astro.createDeployment(deployRequest('pr-5'));
    expect(created.phase).toBe('progressing');
    expect(posts('/deploy').map((request) => request.status)).toEqual([503, 200]);

    server.failNext(/^GET \/deployments\//, 403, 1);
    const denied = astro.getDeployment(created.id);
    await expect(denied).rejects.toThrow(/HTTP 403: injected 403/);
    const bad = new AstropodsPlatform({ baseUrl: server.url, token: 'wrong-token-4242', account: ACCOUNT, env: {} });
    const error = await bad.listDeployments({}).catch((err: Error) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(String((error as ApiError).message)).toMatch(/HTTP 401: unauthorized/);
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
});
