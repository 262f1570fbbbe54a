import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { makeArchive } from '../../support/archive.js';
import { ManualClock } from '../../support/clock.js';
import { until } from '../../support/wait.js';

const KEY = 'sk-local-api-test-key';
let local: LocalPlatform;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 20 });
});
afterEach(async () => local.close());

type Json = Record<string, any>;

async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const init: RequestInit = { method, headers: { 'x-api-key': KEY, ...headers } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${local.url}${route}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

const MANIFEST = 'agent:\n  name: api-agent\n';
const ENVIRONMENTS = 'schema_version: v1\nenvironments:\n  dev:\n    kubernetes:\n      namespace: team\n';

async function buildForm(files: Record<string, string>, fields: Record<string, string> = {}): Promise<FormData> {
  const form = new FormData();
  for (const [name, value] of Object.entries({ image_name: 'api-agent', agent_name: 'api-agent', ...fields })) form.append(name, value);
  form.append('context_archive', await openAsBlob(await makeArchive(files)), 'context.tar.gz');
  return form;
}

/** The platform again, on a clock the test moves. */
async function onManualClock(): Promise<ManualClock> {
  const clock = new ManualClock();
  await local.close();
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 20, clock });
  return clock;
}

async function successfulBuild(): Promise<Json> {
  const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM python:3.12\nRUN pip install x\n', 'app.py': 'x' }, { working_tree_hash: 'h1' }));
  expect(created.status).toBe(201);
  return until(
    () => call('GET', `/v5/builds/${created.body.id}`).then((r) => r.body),
    (build) => build.build_status === 'SUCCESS',
  );
}

describe('local platform builds', () => {
  it('moves a build QUEUED → RUNNING → SUCCESS and lists it by tree hash', async () => {
    const clock = await onManualClock();
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { working_tree_hash: 'abc' }));
    expect(created.body).toMatchObject({ build_status: 'QUEUED', agent_name: 'api-agent', object: 'agentex_cloud_build', working_tree_hash: 'abc' });
    const status = async () => (await call('GET', `/v5/builds/${created.body.id}`)).body.build_status;
    clock.advance(19);
    expect(await status()).toBe('QUEUED');
    clock.advance(1);
    expect(await status()).toBe('RUNNING');
    clock.advance(60_000);
    expect(await status()).toBe('SUCCESS');
    expect((await call('GET', '/v5/builds?working_tree_hash=abc')).body).toMatchObject({ object: 'list', total: 1, has_more: false });
    expect((await call('GET', '/v5/builds?working_tree_hash=other')).body.items).toEqual([]);
    expect((await call('GET', '/v5/builds/undeployed')).body).toEqual([expect.objectContaining({ agent_name: 'api-agent', total_builds: 1 })]);
  });

  it('validates uploads as the API does', async () => {
    expect((await call('POST', '/v5/builds', await buildForm({ 'sub/Dockerfile': 'FROM x\n' }))).body.detail).toMatch(/Dockerfile at its root/);
    const badArgs = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { build_args: 'A=1' }));
    expect(badArgs.status).toBe(400);
    expect(badArgs.body.detail).toMatch(/build_args must be a JSON object/);
    expect((await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }))).status).toBe(201);
    const again = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }));
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already exists; send agent_id/);
    const noArchive = new FormData();
    noArchive.append('image_name', 'x');
    noArchive.append('agent_name', 'other');
    expect((await call('POST', '/v5/builds', noArchive)).status).toBe(400);
    expect((await call('GET', '/v5/builds', undefined, { 'x-api-key': 'wrong' })).status).toBe(401);
  });

  it('refuses an archive over the size limit with 413', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, maxArchiveBytes: 1024 });
    const big = await buildForm({ Dockerfile: 'FROM x\n', 'blob.bin': randomBytes(8000).toString('base64') });
    expect((await call('POST', '/v5/builds', big)).status).toBe(413);
  });

  it('streams the build log as SSE and resumes after Last-Event-ID', async () => {
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\nRUN a\nRUN b\n' }));
    const response = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    const events = [...text.matchAll(/id: (\d+)\ndata: (.*)\n\n/g)].map((match) => ({ id: Number(match[1]), line: JSON.parse(match[2]).line }));
    expect(events.length).toBeGreaterThan(5);
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
    expect(events.some((event) => event.line.includes('[1/2] RUN a'))).toBe(true);
    const resumed = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY, 'last-event-id': '3' } }).then((r) => r.text());
    expect(resumed.startsWith('id: 4\n')).toBe(true);
  });

  it('cancels a running build and leaves a finished one alone', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 1000 });
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }));
    const cancel = await call('POST', `/v5/builds/${created.body.id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.build_status).toBe('QUEUED');
    const done = await until(
      () => call('GET', `/v5/builds/${created.body.id}`).then((r) => r.body),
      (build) => build.build_status === 'CANCELLED',
    );
    expect((await call('POST', `/v5/builds/${created.body.id}/cancel`)).body.build_status).toBe(done.build_status);
  });

  it('answers in the older build shape when asked', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, legacyBuildShape: true, buildStepMs: 10 });
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }));
    expect(created.body).toMatchObject({ status: 'QUEUED' });
    expect(created.body.build_id).toMatch(/^bld_/);
    expect(created.body.id).toBeUndefined();
  });
});

describe('local platform deployments', () => {
  it('rolls a preview out, serves its page, and deletes it idempotently', async () => {
    const build = await successfulBuild();
    const created = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: build.id,
      preview: true,
      preview_label: 'PR 12 / Fix',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'PENDING', preview_label: 'pr-12-fix', namespace: 'team' });
    const release = created.body.helm_release_name;
    expect((await fetch(`${local.url}/previews/${release}/`)).status).toBe(503);
    const healthy = await until(
      () => call('GET', `/v5/agentex/deployments/${created.body.id}`).then((r) => r.body),
      (d) => d.status === 'HEALTHY',
    );
    expect(healthy.deploy_events.map((event: Json) => event.reason)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Started']);
    const page = await fetch(healthy.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(build.id);
    expect(html).toContain('pr-12-fix');
    expect((await call('GET', '/v5/agentex/deployments?preview_label=pr-12-fix')).body.items).toHaveLength(1);
    const logs = await call('GET', `/v5/agentex/deployments/${created.body.id}/logs?limit=1`);
    expect(logs.body).toMatchObject({ has_more: true, next_cursor: '1' });
    expect((await call('DELETE', `/v5/agentex/deployments/${created.body.id}`)).status).toBe(200);
    const second = await call('DELETE', `/v5/agentex/deployments/${created.body.id}`);
    expect(second.status).toBe(400);
    expect(second.body.detail).toMatch(/already DELETED/);
    expect((await call('DELETE', '/v5/agentex/deployments/dep_unknown')).status).toBe(404);
    expect((await fetch(healthy.url)).status).toBe(404);
  });

  it('rejects preview-only fields on a real deploy, bad builds and past expiry', async () => {
    const build = await successfulBuild();
    const base = { manifest_file: MANIFEST, environment_config: ENVIRONMENTS, build_id: build.id };
    expect((await call('POST', '/v5/agentex/deployments', { ...base, preview_label: 'x' })).body.detail).toMatch(/preview_label is only valid when preview is true/);
    expect((await call('POST', '/v5/agentex/deployments', { ...base, expires_at: new Date().toISOString() })).status).toBe(422);
    expect((await call('POST', '/v5/agentex/deployments', { ...base, preview: true, preview_label: 'x', expires_at: '2001-01-01T00:00:00Z' })).body.detail).toMatch(/future/);
    expect((await call('POST', '/v5/agentex/deployments', { ...base, build_id: 'bld_missing' })).status).toBe(404);
    expect((await call('POST', '/v5/agentex/deployments', { ...base, manifest_file: 'agent:\n  name: someone-else\n' })).body.detail).toMatch(/is for "api-agent"/);
    expect((await call('POST', '/v5/agentex/deployments', { ...base, manifest_file: 'agent: [' })).body.detail).toMatch(/not valid YAML/);
  });

  it('expires previews and supersedes older real deploys', async () => {
    const clock = await onManualClock();
    const built = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM python:3.12\n' }));
    clock.advance(60_000);
    const base = { manifest_file: MANIFEST, environment_config: ENVIRONMENTS, build_id: built.body.id };
    const statusOf = async (id: string) => (await call('GET', `/v5/agentex/deployments/${id}`)).body.status;
    const preview = await call('POST', '/v5/agentex/deployments', { ...base, preview: true, preview_label: 'short', expires_at: new Date(clock.now() + 150).toISOString() });
    clock.advance(149);
    expect(await statusOf(preview.body.id)).toBe('HEALTHY');
    clock.advance(1);
    expect(await statusOf(preview.body.id)).toBe('DELETED');

    const first = await call('POST', '/v5/agentex/deployments', base);
    clock.advance(40);
    expect(await statusOf(first.body.id)).toBe('HEALTHY');
    const second = await call('POST', '/v5/agentex/deployments', base);
    clock.advance(40);
    expect(await statusOf(second.body.id)).toBe('HEALTHY');
    expect((await call('GET', `/v5/agentex/deployments/${first.body.id}`)).body.status).toBe('SUPERSEDED');
    expect((await call('DELETE', `/v5/agentex/deployments/${first.body.id}`)).status).toBe(400);
  });
});

describe('fault switch', () => {
  it('injects statuses with Retry-After, counts times, and works over HTTP', async () => {
    local.faults.add({ route: 'builds.list', status: 429, retryAfterSeconds: 2, times: 2 });
    const first = await call('GET', '/v5/builds');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    expect((await call('GET', '/v5/builds')).status).toBe(429);
    expect((await call('GET', '/v5/builds')).status).toBe(200);

    expect((await call('POST', '/_local/faults', { route: 'deployments.list', status: 503 })).status).toBe(201);
    expect((await call('GET', '/v5/agentex/deployments')).status).toBe(503);
    expect((await call('POST', '/_local/faults', { route: 'nope' })).status).toBe(400);
    await call('POST', '/_local/faults', { route: 'deployments.list', status: 500, times: 'Infinity' });
    await call('DELETE', '/_local/faults');
    expect((await call('GET', '/v5/agentex/deployments')).status).toBe(200);
  });

  it('does the work and then fails the answer with afterHandling', async () => {
    local.faults.add({ route: 'builds.create', status: 502, afterHandling: true });
    expect((await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }))).status).toBe(502);
    expect((await call('GET', '/v5/builds')).body.total).toBe(1);
  });

  it('resets connections and drops log streams', async () => {
    local.faults.add({ route: 'builds.get', resetConnection: true });
    await expect(fetch(`${local.url}/v5/builds/x`, { headers: { 'x-api-key': KEY } })).rejects.toThrow();
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\nRUN a\n' }));
    local.faults.add({ route: 'builds.logs', dropStreamAfterLines: 2 });
    const partial = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } })
      .then((r) => r.text())
      .catch(() => 'dropped');
    expect(partial === 'dropped' || [...partial.matchAll(/^id: /gm)].length === 2).toBe(true);
  });
});
