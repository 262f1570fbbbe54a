import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { ManualClock } from '../../support/clock.js';
import { client, ENVIRONMENTS, MANIFEST, type Json } from './http.js';

const KEY = 'sk-local-deployments-test-key';
let local: LocalPlatform;
const { call, buildForm, finishedBuild, deploymentIn } = client(() => local, KEY);

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 20 });
});
afterEach(async () => local.close());

/** The platform again, on a clock the test moves, with a finished build. */
async function onManualClock(): Promise<{ clock: ManualClock; buildId: string }> {
  const clock = new ManualClock();
  await local.close();
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 150, clock });
  const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: 'FROM python:3.12\n' }, { agent_name: 'api-agent' }));
  clock.advance(60_000);
  return { clock, buildId: created.body.id };
}

async function build(dockerfile = 'FROM python:3.12\n'): Promise<Json> {
  const created = await call('POST', '/v5/builds', await buildForm({ Dockerfile: dockerfile }, { agent_name: `api-agent` }));
  expect(created.status).toBe(201);
  return finishedBuild(created.body.id);
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe('local platform deployments', () => {
  it('answers the documented deploy object, PENDING → IN_PROGRESS → HEALTHY, with a preview page 503 → 200 → 404', async () => {
    const { clock, buildId } = await onManualClock();
    expect((await call('GET', '/v5/builds/undeployed')).body).toEqual([{ agent_name: 'api-agent', latest_build: expect.objectContaining({ id: buildId }), total_builds: 1 }]);
    const created = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: buildId,
      preview: true,
      preview_label: 'feature/Login-Page',
      expires_at: new Date(clock.now() + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'agentex_cloud_deploy',
      account_id: 'acct-local',
      agent_name: 'api-agent',
      build_id: buildId,
      status: 'PENDING',
      preview: true,
      is_preview: true,
      preview_label: 'feature-login-page',
      namespace: 'team',
      manifest_file: MANIFEST,
      created_by: { type: 'user', object: 'identity' },
    });
    expect(created.body.helm_release_name).toMatch(/^api-agent-feature-login-page-[0-9a-f]{4}$/);
    expect(created.body.url).toBeUndefined();
    const pageUrl = `${local.url}/previews/${created.body.helm_release_name}/`;
    const starting = await fetch(pageUrl);
    expect(starting.status).toBe(503);
    expect(await starting.text()).toContain('is starting');

    const current = async () => (await call('GET', `/v5/agentex/deployments/${created.body.id}`)).body;
    clock.advance(149);
    expect((await current()).status).toBe('PENDING');
    clock.advance(1);
    expect((await current()).status).toBe('IN_PROGRESS');
    expect((await fetch(pageUrl)).status).toBe(503);
    clock.advance(150);
    const healthy = await current();
    expect(healthy.status).toBe('HEALTHY');
    expect(healthy.url).toBe(pageUrl);
    expect((await call('GET', '/v5/builds/undeployed')).body).toEqual([]);
    expect(healthy.deploy_events.map((event: Json) => `${event.type}/${event.reason}`)).toEqual(['Normal/Scheduled', 'Normal/Pulling', 'Normal/Pulled', 'Normal/Started']);
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    for (const shown of ['api-agent', buildId, 'feature-login-page', created.body.id]) expect(html).toContain(shown);

    expect((await call('DELETE', `/v5/agentex/deployments/${created.body.id}`)).body.status).toBe('DELETED');
    expect((await fetch(pageUrl)).status).toBe(404);
    expect((await fetch(`${local.url}/previews/never-was/`)).status).toBe(404);
  });

  it('deletes once, then answers 400 "deployment already DELETED", and 404 for an unknown id', async () => {
    const { clock, buildId } = await onManualClock();
    const created = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: buildId,
      preview: true,
      preview_label: 'pr-1',
    });
    expect(Date.parse(created.body.expires_at) - clock.now()).toBe(8 * 3_600_000);
    const first = await call('DELETE', `/v5/agentex/deployments/${created.body.id}`);
    expect(first).toMatchObject({ status: 200, body: { status: 'DELETED' } });
    expect(await call('DELETE', `/v5/agentex/deployments/${created.body.id}`)).toMatchObject({ status: 400, body: { detail: 'deployment already DELETED' } });
    expect((await call('DELETE', '/v5/agentex/deployments/dep_unknown')).status).toBe(404);
    // Deleted while pending: the rollout stops there.
    clock.advance(60_000);
    expect((await call('GET', `/v5/agentex/deployments/${created.body.id}`)).body.status).toBe('DELETED');
  });

  it('validates preview fields, the build and the manifest', async () => {
    const { id: buildId } = await build();
    const base = { manifest_file: MANIFEST, environment_config: ENVIRONMENTS, build_id: buildId };
    const create = (body: Json) => call('POST', '/v5/agentex/deployments', body);
    const labelOnReal = await create({ ...base, preview_label: 'pr-2' });
    expect(labelOnReal.status).toBeGreaterThanOrEqual(400);
    expect(labelOnReal.status).toBeLessThan(500);
    expect(labelOnReal.body.detail).toMatch(/^preview_label/);
    expect((await create({ ...base, preview: false, expires_at: inAnHour() })).body.detail).toMatch(/^expires_at/);
    expect(await create({ ...base, preview: true })).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/^preview_label is required/) } });
    expect((await create({ ...base, preview: true, preview_label: '***' })).status).toBe(422);
    expect((await create({ ...base, preview: true, preview_label: 'x', expires_at: new Date(Date.now() - 1000).toISOString() })).body.detail).toMatch(
      /expires_at must be in the future/,
    );
    expect((await create({ ...base, preview: true, preview_label: 'x', expires_at: 'soon' })).body.detail).toMatch(/ISO 8601/);
    expect((await create({ ...base, build_id: 'bld_missing' })).status).toBe(404);
    const failed = await call(
      'POST',
      '/v5/builds',
      await buildForm({ Dockerfile: 'FROM x\n# local-platform: fail-build\n' }, { agent_name: '', agent_id: (await call('GET', `/v5/builds/${buildId}`)).body.agent_id }),
    );
    await finishedBuild(failed.body.id);
    expect((await create({ ...base, build_id: failed.body.id })).body.detail).toMatch(/is FAILED; only a successful build/);
    expect((await create({ ...base, manifest_file: 'agent:\n  name: another\n' })).body.detail).toMatch(/is for "api-agent"/);
    expect((await create({ ...base, environment_config: 'schema_version: v1\n' })).body.detail).toMatch(/environments is required/);
    expect((await create({ manifest_file: MANIFEST, environment_config: ENVIRONMENTS })).body.detail).toMatch(/build_id or image_name/);
    const byImage = await create({ manifest_file: MANIFEST, environment_config: ENVIRONMENTS, image_name: 'api-agent', image_tag: 'v7', is_preview: true, preview_label: 'img' });
    expect(byImage).toMatchObject({ status: 201, body: { image_tag: 'v7', preview: true, preview_label: 'img' } });
    expect(local.deployments()).toHaveLength(1);
  });

  it('ends a crashing agent FAILED with CrashLoopBackOff events and a traceback in paginated logs', async () => {
    const { id: buildId } = await build('FROM python:3.12\n# local-platform: crash\n');
    const created = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: buildId,
      preview: true,
      preview_label: 'crash',
    });
    const failed = await deploymentIn(created.body.id, ['FAILED', 'HEALTHY']);
    expect(failed.status).toBe('FAILED');
    expect(failed.deploy_events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'BackOff', message: expect.stringContaining('CrashLoopBackOff') }));
    expect(failed.url).toBeUndefined();

    const messages: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10; pages++) {
      const page = (await call('GET', `/v5/agentex/deployments/${created.body.id}/logs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.deployment_id).toBe(created.body.id);
      expect(page.lines.length).toBeLessThanOrEqual(2);
      for (const line of page.lines) {
        expect(line).toEqual({ id: expect.any(String), message: expect.any(String), log_level: expect.any(String), timestamp: expect.any(String) });
        messages.push(line.message);
      }
      if (!page.has_more) break;
      cursor = page.next_cursor;
    }
    expect(messages).toContain('Traceback (most recent call last):');
    expect(messages[messages.length - 1]).toMatch(/ModuleNotFoundError/);
    expect((await call('GET', '/v5/agentex/deployments/dep_missing/logs')).status).toBe(404);
  });

  it('expires a preview to DELETED when expires_at passes', async () => {
    const { clock, buildId } = await onManualClock();
    const created = await call('POST', '/v5/agentex/deployments', {
      manifest_file: MANIFEST,
      environment_config: ENVIRONMENTS,
      build_id: buildId,
      preview: true,
      preview_label: 'short-lived',
      expires_at: new Date(clock.now() + 350).toISOString(),
    });
    clock.advance(349);
    const healthy = (await call('GET', `/v5/agentex/deployments/${created.body.id}`)).body;
    expect(healthy.status).toBe('HEALTHY');
    expect((await fetch(healthy.url)).status).toBe(200);
    clock.advance(1);
    expect((await fetch(healthy.url)).status).toBe(404);
    const expired = (await call('GET', `/v5/agentex/deployments/${created.body.id}`)).body;
    expect(expired.status).toBe('DELETED');
    expect(expired.deploy_events[expired.deploy_events.length - 1]).toMatchObject({ reason: 'Expired' });
    expect((await call('DELETE', `/v5/agentex/deployments/${created.body.id}`)).status).toBe(400);
  });

  it('supersedes the older real deploy of the agent once the newer one is healthy; previews pile up', async () => {
    const { id: buildId } = await build();
    const base = { manifest_file: MANIFEST, environment_config: ENVIRONMENTS, build_id: buildId };
    const first = await call('POST', '/v5/agentex/deployments', base);
    await deploymentIn(first.body.id, ['HEALTHY']);
    const previews = [
      await call('POST', '/v5/agentex/deployments', { ...base, preview: true, preview_label: 'pr-9' }),
      await call('POST', '/v5/agentex/deployments', { ...base, preview: true, preview_label: 'pr-9' }),
    ];
    const second = await call('POST', '/v5/agentex/deployments', base);
    expect(second.body.helm_release_name).toBe(first.body.helm_release_name);
    const secondHealthy = await deploymentIn(second.body.id, ['HEALTHY']);
    for (const preview of previews) await deploymentIn(preview.body.id, ['HEALTHY']);

    expect((await call('GET', `/v5/agentex/deployments/${first.body.id}`)).body.status).toBe('SUPERSEDED');
    expect(await call('DELETE', `/v5/agentex/deployments/${first.body.id}`)).toMatchObject({ status: 400, body: { detail: 'deployment already SUPERSEDED' } });
    expect((await fetch(secondHealthy.url)).status).toBe(200);

    const byLabel = (await call('GET', '/v5/agentex/deployments?preview_label=pr-9&limit=1')).body;
    expect(byLabel).toMatchObject({ has_more: true, next_cursor: previews[1].body.id, items: [expect.objectContaining({ id: previews[1].body.id })] });
    expect((await call('GET', '/v5/agentex/deployments?is_preview=false')).body.items.map((d: Json) => d.id)).toEqual([second.body.id, first.body.id]);
    expect((await call('GET', '/v5/agentex/deployments?status=superseded')).body.items.map((d: Json) => d.id)).toEqual([first.body.id]);
    expect((await call('GET', `/v5/agentex/deployments?build_id=${buildId}&agent_name=api-agent`)).body.total).toBe(4);
    expect((await call('GET', `/v5/agentex/deployments?agent_id=${first.body.agent_id}`)).body.total).toBe(4);

    await call('DELETE', `/v5/agentex/deployments/${second.body.id}`);
    expect((await fetch(secondHealthy.url)).status).toBe(404);
  });
});
