import { copyHelloAgent } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';

const API_KEY = 'sk-faults-Vb6Nq2Lr0PxY55';
const platform = useLocalPlatform(API_KEY, { buildStepMs: 40 });

const fast = ['--poll-interval', '0.1s', '--timeout', '60s', '--json'];

async function list(route: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${platform.local.url}${route}`, { headers: { 'x-api-key': API_KEY } });
  return ((await response.json()) as { items: Record<string, unknown>[] }).items;
}

function requestsTo(route: string): number {
  return platform.local.requests.filter((request: { route?: string }) => request.route === route).length;
}

async function previewOnce(label: string) {
  const agent = await copyHelloAgent();
  const run = await runCli(['deploy', '-m', agent, '--label', label, ...fast], { env: platform.env });
  return { run, result: run.code === 0 ? JSON.parse(run.stdout)[0] : undefined };
}

describe('the client survives platform faults (local platform fault switch, real HTTP)', () => {
  it('rides out a 503 burst on every status poll', async () => {
    platform.local.faults.add({ route: 'builds.get', status: 503, times: 3 });
    platform.local.faults.add({ route: 'deployments.get', status: 503, times: 3 });
    const { run, result } = await previewOnce('burst');
    expect(run.code).toBe(0);
    expect(result.status).toBe('healthy');
    expect(run.stderr).toMatch(/get build.*503.*retrying/);
    expect(await list('/v5/builds?agent_name=hello-agent')).toHaveLength(1);
  });

  it('honours Retry-After on a 429 and creates exactly one deployment', async () => {
    platform.local.faults.add({ route: 'deployments.create', status: 429, retryAfterSeconds: 1, times: 1 });
    const { run, result } = await previewOnce('throttled');
    expect(run.code).toBe(0);
    expect(result.status).toBe('healthy');
    // The wait is the server's Retry-After, not the backoff (5ms in these tests).
    expect(run.stderr).toMatch(/create deployment.*429.*retrying in 1s/);
    expect(platform.local.requests.filter((recorded) => recorded.route === 'deployments.create').map((recorded) => recorded.status)).toEqual([429, 201]);
    expect(await list('/v5/agentex/deployments?preview_label=throttled')).toHaveLength(1);
  });

  it('a create whose response is lost is reconciled, not duplicated', async () => {
    platform.local.faults.add({ route: 'builds.create', status: 502, afterHandling: true, times: 1 });
    platform.local.faults.add({ route: 'deployments.create', status: 502, afterHandling: true, times: 1 });
    const { run, result } = await previewOnce('lost-response');
    expect(run.code).toBe(0);
    expect(result.status).toBe('healthy');
    expect(await list('/v5/builds?agent_name=hello-agent')).toHaveLength(1);
    expect(await list('/v5/agentex/deployments?preview_label=lost-response')).toHaveLength(1);
  });

  it('reconnects a dropped build log stream without repeating lines', async () => {
    platform.local.faults.add({ route: 'builds.logs', dropStreamAfterLines: 2, times: 1 });
    const { run, result } = await previewOnce('dropped-logs');
    expect(run.code).toBe(0);
    expect(result.status).toBe('healthy');
    expect(run.stderr).toMatch(/build log stream dropped/);
    const logLines = run.stderr.split('\n').filter((line) => line.includes('hello-agent │'));
    expect(logLines.length).toBeGreaterThan(3);
    expect(new Set(logLines).size).toBe(logLines.length);
    expect(requestsTo('builds.logs')).toBeGreaterThanOrEqual(2);
  });

  it('survives a connection reset during the upload', async () => {
    platform.local.faults.add({ route: 'builds.create', resetConnection: true, times: 1 });
    const { run, result } = await previewOnce('reset-upload');
    expect(run.code).toBe(0);
    expect(result.status).toBe('healthy');
    expect(await list('/v5/builds?agent_name=hello-agent')).toHaveLength(1);
  });

  it('gives up on a platform that keeps failing with a clear message and leaves no preview', async () => {
    platform.local.faults.add({ route: 'deployments.create', status: 500, times: Infinity });
    const { run } = await previewOnce('always-500');
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/create deployment.*HTTP 500/);
    platform.local.faults.clear();
    expect(await list('/v5/agentex/deployments?preview_label=always-500')).toEqual([]);
  });

  it('a deployment that never turns healthy within the timeout is deleted, and the user is told', async () => {
    await platform.restart({ deployStepMs: 30_000 });
    const agent = await copyHelloAgent();
    const run = await runCli(['deploy', '-m', agent, '--label', 'slow', '--poll-interval', '0.1s', '--timeout', '1s'], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/did not finish within 1s; preview deployment \S+ was deleted/);
    const left = (await list('/v5/agentex/deployments?preview_label=slow')).filter((d) => String(d.status) !== 'DELETED');
    expect(left).toEqual([]);
  });
});
