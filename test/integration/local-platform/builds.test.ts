import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { c as createTar } from 'tar';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { client, sseEvents } from './http.js';

const KEY = 'sk-local-builds-test-key';
let local: LocalPlatform;
const { call, buildForm, finishedBuild } = client(() => local, KEY);

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 20 });
});
afterEach(async () => local.close());

describe('local platform build uploads', () => {
  it('answers the documented build object and records provenance', async () => {
    const created = await call(
      'POST',
      '/v5/builds',
      await buildForm(
        { Dockerfile: 'FROM python:3.12\n' },
        { image_tag: 'v1', working_tree_hash: 'tree-1', source_commit: 'abc123', source_repo: 'github.com/acme/bots', build_args: '{"PY":"3.12"}' },
      ),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'agentex_cloud_build',
      account_id: 'acct-local',
      agent_name: 'api-agent',
      image_name: 'api-agent',
      image_tag: 'v1',
      build_status: 'QUEUED',
      working_tree_hash: 'tree-1',
      source_commit: 'abc123',
      source_repo: 'github.com/acme/bots',
      build_args: { PY: '3.12' },
    });
    expect(created.body.id).toMatch(/^bld_/);
    expect(created.body.agent_id).toMatch(/^agent_/);
    expect(created.body.image_url).toContain('api-agent:v1');
    expect(Date.parse(created.body.updated_at)).toBeGreaterThan(0);
    const done = await finishedBuild(created.body.id);
    expect(done).toMatchObject({ build_status: 'SUCCESS', agent_id: created.body.agent_id });
    expect(done.build_end_time >= done.build_start_time).toBe(true);
    expect(local.builds()).toHaveLength(1);
  });

  it('refuses archives that are not a gzip tar with a Dockerfile at the root, and bad build_args, with 400', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ap-plain-tar-'));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM x\n');
    const plainTar = path.join(dir, 'context.tar');
    await createTar({ file: plainTar, cwd: dir, portable: true }, ['Dockerfile']);
    const notGzip = await call('POST', '/v5/builds', await buildForm({}, {}, plainTar));
    expect(notGzip.status).toBe(400);
    expect(notGzip.body.detail).toMatch(/not gzip/);

    const nested = await call('POST', '/v5/builds', await buildForm({ 'agent/Dockerfile': 'FROM x\n', 'agent/app.py': '' }));
    expect(nested.status).toBe(400);
    expect(nested.body.detail).toMatch(/no Dockerfile at its root/);

    for (const buildArgs of ['A=1', '["a"]', '"text"']) {
      const answer = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { build_args: buildArgs }));
      expect(answer.status).toBe(400);
      expect(answer.body.detail).toMatch(/^build_args/);
    }
    const noFile = new FormData();
    noFile.append('image_name', 'x');
    noFile.append('agent_name', 'x');
    expect(await call('POST', '/v5/builds', noFile)).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/context_archive is required/) } });
    expect((await call('POST', '/v5/builds', { image_name: 'x' })).status).toBe(415);
    expect(local.builds()).toEqual([]);
  });

  it('creates an agent from agent_name and then takes its agent_id', async () => {
    const first = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }));
    const byId = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { agent_name: '', agent_id: first.body.agent_id }));
    expect(byId.status).toBe(201);
    expect(byId.body).toMatchObject({ agent_id: first.body.agent_id, agent_name: 'api-agent' });
    expect((await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { agent_name: '', agent_id: 'agent_nope' }))).status).toBe(404);
  });
});

describe('local platform build lifecycle', () => {
  it('fails a build whose Dockerfile asks for it, with the error in the log', async () => {
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n# local-platform: fail-build\n' }));
    const stream = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } });
    const lines = sseEvents(await stream.text()).map((event) => event.line);
    expect(lines[lines.length - 1]).toMatch(/^ERROR: failed to solve/);
    expect(lines.join('\n')).not.toContain('exporting to image');
    expect((await call('GET', `/v5/builds/${created.body.id}`)).body.build_status).toBe('FAILED');
  });

  it('streams a live build log line by line, docker-buildkit style, and closes when the build ends', async () => {
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM python:3.12\nRUN pip install uv\nCOPY . /app\n' }));
    const response = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = sseEvents(await response.text());
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
    const text = events.map((event) => event.line).join('\n');
    expect(text).toContain('#1 [internal] load build definition from Dockerfile');
    expect(text).toContain('load metadata for docker.io/library/python:3.12');
    expect(text).toContain('[1/2] RUN pip install uv');
    expect(text).toContain('[2/2] COPY . /app');
    expect(text).toContain('exporting to image');
    expect(text).toMatch(/pushing .*api-agent:latest done/);
    expect((await call('GET', `/v5/builds/${created.body.id}`)).body.build_status).toBe('SUCCESS');

    const replay = sseEvents(await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } }).then((r) => r.text()));
    expect(replay).toEqual(events);
    const resumed = sseEvents(
      await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY, 'last-event-id': String(events.length - 2) } }).then((r) => r.text()),
    );
    expect(resumed).toEqual(events.slice(-2));
    expect((await call('GET', '/v5/builds/bld_missing/logs')).status).toBe(404);
  });

  it('ends open log streams and timers on close', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 60_000 });
    const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }));
    // fetch answers once the stream's headers are in: the stream is open on the server.
    const response = await fetch(`${local.url}/v5/builds/${created.body.id}/logs`, { headers: { 'x-api-key': KEY } });
    const stream = response.text().catch(() => 'ended');
    await local.close();
    await expect(stream).resolves.toBeDefined();
  });
});

describe('local platform build lists', () => {
  it('filters, sorts newest first and pages with next_cursor or starting_after', async () => {
    const first = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { working_tree_hash: 'h1' }));
    const agentId = first.body.agent_id;
    const ids = [first.body.id];
    for (const hash of ['h2', 'h3']) {
      ids.push((await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n' }, { agent_name: '', agent_id: agentId, working_tree_hash: hash }))).body.id);
    }
    const other = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM x\n# local-platform: fail-build\n' }, { agent_name: 'other-agent', image_name: 'other' }));
    await Promise.all([...ids, other.body.id].map((id) => finishedBuild(id)));

    const all = (await call('GET', '/v5/builds')).body;
    expect(all.items.map((build: { id: string }) => build.id)).toEqual([other.body.id, ...[...ids].reverse()]);
    expect((await call('GET', `/v5/builds?agent_id=${agentId}`)).body.total).toBe(3);
    expect((await call('GET', '/v5/builds?agent_name=other-agent')).body.items).toEqual([expect.objectContaining({ id: other.body.id })]);
    expect((await call('GET', '/v5/builds?build_status=failed')).body.items).toEqual([expect.objectContaining({ id: other.body.id })]);
    expect((await call('GET', '/v5/builds?working_tree_hash=h2')).body.items).toEqual([expect.objectContaining({ id: ids[1] })]);

    const pageOne = (await call('GET', `/v5/builds?agent_id=${agentId}&limit=2`)).body;
    expect(pageOne).toMatchObject({ has_more: true, next_cursor: ids[1], total: 3, limit: 2 });
    expect(pageOne.items.map((build: { id: string }) => build.id)).toEqual([ids[2], ids[1]]);
    const pageTwo = (await call('GET', `/v5/builds?agent_id=${agentId}&limit=2&cursor=${pageOne.next_cursor}`)).body;
    expect(pageTwo).toMatchObject({ has_more: false, next_cursor: null });
    expect(pageTwo.items.map((build: { id: string }) => build.id)).toEqual([ids[0]]);
    expect((await call('GET', `/v5/builds?agent_id=${agentId}&limit=2&starting_after=${ids[2]}`)).body.items.map((build: { id: string }) => build.id)).toEqual([ids[1], ids[0]]);
    const ascending = (await call('GET', `/v5/builds?agent_id=${agentId}&sort_order=asc`)).body.items.map((build: { id: string }) => build.id);
    expect(ascending).toEqual(ids);
    expect((await call('GET', '/v5/builds?starting_after=bld_gone')).status).toBe(400);
  });
});
