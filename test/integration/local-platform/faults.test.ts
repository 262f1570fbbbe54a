import { request } from 'node:http';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { makeArchive } from '../../support/archive.js';
import { ManualClock } from '../../support/clock.js';
import { until } from '../../support/wait.js';
import { client, ENVIRONMENTS, MANIFEST, sseEvents } from './http.js';

const KEY = 'sk-local-faults-test-key';
let local: LocalPlatform;
const { call, buildForm, finishedBuild } = client(() => local, KEY);

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 20 });
});
afterEach(async () => local.close());

describe('local platform fault switch', () => {
  it('answers a status for the given number of times, then the real thing; Infinity until cleared', async () => {
    local.faults.add({ route: 'builds.get', status: 503, times: 2 });
    expect((await call('GET', '/v5/builds/bld_x')).status).toBe(503);
    expect((await call('GET', '/v5/builds/bld_x')).body).toEqual({ detail: expect.any(String) });
    expect((await call('GET', '/v5/builds/bld_x')).status).toBe(404);

    local.faults.add({ route: 'deployments.get', status: 500, times: Infinity });
    for (let i = 0; i < 5; i++) expect((await call('GET', '/v5/agentex/deployments/dep_x')).status).toBe(500);
    expect(local.faults.rules).toEqual([expect.objectContaining({ route: 'deployments.get', status: 500, times: Infinity })]);
    local.faults.clear();
    expect((await call('GET', '/v5/agentex/deployments/dep_x')).status).toBe(404);
  });

  it('sends 429 with Retry-After and waits latencyMs before answering', async () => {
    local.faults.add({ route: 'deployments.list', status: 429, retryAfterSeconds: 7 });
    const limited = await call('GET', '/v5/agentex/deployments');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');

    // The latency is on the platform's clock: the answer waits until the test moves it.
    const clock = new ManualClock();
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, clock });
    local.faults.add({ route: 'deployments.list', latencyMs: 150 });
    let answered = false;
    const slow = call('GET', '/v5/agentex/deployments').finally(() => (answered = true));
    await until(async () => local.requests.some((recorded) => recorded.route === 'deployments.list'), Boolean);
    clock.advance(149);
    expect((await call('GET', '/v5/builds')).status).toBe(200);
    expect(answered).toBe(false);
    clock.advance(1);
    expect((await slow).status).toBe(200);
  });

  it('resets the connection mid-upload for builds.create, and no build appears', async () => {
    local.faults.add({ route: 'builds.create', resetConnection: true });
    const archive = await makeArchive({ Dockerfile: 'FROM x\n', 'big.txt': 'x'.repeat(2_000_000) });
    await expect(call('POST', '/v5/builds', await buildForm({}, {}, archive))).rejects.toThrow();
    expect(local.builds()).toEqual([]);
    expect(local.requests.find((recorded) => recorded.route === 'builds.create')?.status).toBe(-1);
    expect((await call('POST', '/v5/builds', await buildForm({}, {}, archive))).status).toBe(201);
  });

  it('does the work and loses the answer with afterHandling', async () => {
    const built = await finishedBuild((await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }))).body.id);
    local.faults.add({ route: 'deployments.create', status: 502, afterHandling: true });
    const lost = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: built.id,
      preview: true,
      preview_label: 'lost',
    });
    expect(lost.status).toBe(502);
    expect((await call('GET', '/v5/agentex/deployments?preview_label=lost')).body.items).toHaveLength(1);
  });

  it('cuts a build log stream after some lines, and a resume goes on from there', async () => {
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\nRUN a\nRUN b\n' }));
    await finishedBuild(created.body.id);
    local.faults.add({ route: 'builds.logs', dropStreamAfterLines: 3 });
    const partial = await new Promise<string>((resolve) => {
      let text = '';
      const req = request(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', () => resolve(text));
        res.on('aborted', () => resolve(text));
        res.on('end', () => resolve(text));
      });
      req.on('error', () => resolve(text));
      req.end();
    });
    expect(sseEvents(partial).map((event) => event.id)).toEqual([1, 2, 3]);
    const rest = sseEvents(await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY, 'last-event-id': '3' } }).then((r) => r.text()));
    expect(rest[0].id).toBe(4);
  });

  it('takes rules over HTTP and shows state for another process', async () => {
    const add = await fetch(`${local.url}/_local/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'builds.list', status: 500, times: 'Infinity' }),
    });
    expect(add.status).toBe(201);
    expect((await call('GET', '/v5/builds')).status).toBe(500);
    expect((await call('GET', '/v5/builds')).status).toBe(500);
    const bad = await fetch(`${local.url}/_local/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ route: 'nowhere' }) });
    expect(bad.status).toBe(400);
    const state = await fetch(`${local.url}/_local/state`).then((r) => r.json());
    expect(state).toMatchObject({ builds: [], deployments: [], faults: [expect.objectContaining({ route: 'builds.list' })] });
    expect((await fetch(`${local.url}/_local/faults`, { method: 'DELETE' })).status).toBe(200);
    expect((await call('GET', '/v5/builds')).status).toBe(200);
  });
});

describe('local platform requests and auth', () => {
  it('requires the API key, answers unknown routes with JSON 404, and records requests without header values', async () => {
    expect((await fetch(`${local.url}/v5/builds`)).status).toBe(401);
    expect(await call('GET', '/v5/builds', undefined, { 'x-api-key': 'wrong-key' })).toMatchObject({ status: 401, body: { detail: expect.stringMatching(/x-api-key/) } });
    const unknown = await call('GET', '/v5/nothing-here');
    expect(unknown).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
    expect(unknown.headers.get('content-type')).toBe('application/json');
    expect((await call('PUT', '/v5/builds')).status).toBe(404);
    await call('GET', '/v5/builds?agent_name=a&limit=3');
    expect(local.requests.at(-1)).toEqual({ method: 'GET', path: '/v5/builds', query: { agent_name: 'a', limit: '3' }, route: 'builds.list', status: 200, at: expect.any(Number) });
    expect(JSON.stringify(local.requests)).not.toContain(KEY);
    expect(JSON.stringify(local.requests)).not.toContain('wrong-key');
  });

  it('serves without a key when none is configured', async () => {
    await local.close();
    local = await startLocalPlatform();
    expect(local.url).toBe(`http://127.0.0.1:${local.port}`);
    expect((await fetch(`${local.url}/v5/builds`)).status).toBe(200);
  });
});
