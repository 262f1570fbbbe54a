import type { RouteId } from '../../../src/local-platform/index.js';
import { copyHelloAgent, editFile } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';
import path from 'node:path';

const API_KEY = 'sk-matrix-Zq0Wd8Yt5Ne3';
const platform = useLocalPlatform(API_KEY, { deployStepMs: 30 });

async function items(route: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${platform.local.url}${route}`, { headers: { 'x-api-key': API_KEY } });
  return ((await response.json()) as { items: Record<string, unknown>[] }).items;
}

const live = (deployment: Record<string, unknown>) => !['DELETED', 'SUPERSEDED'].includes(String(deployment.status));
const fast = ['--poll-interval', '0.1s', '--timeout', '60s'];

describe.each([
  ['a 502/503 burst', { status: 503, times: 2 }],
  ['a 429 with Retry-After', { status: 429, retryAfterSeconds: 0, times: 2 }],
  ['connection resets', { resetConnection: true, times: 1 }],
])('%s at every route a preview and its teardown use', (_name, fault) => {
  const routes: RouteId[] = ['builds.list', 'builds.create', 'builds.get', 'builds.logs', 'deployments.create', 'deployments.list', 'deployments.get', 'deployments.delete'];
  it.each(routes)('%s: the run completes with one build, one preview, and nothing left after teardown', async (route) => {
    const agent = await copyHelloAgent();
    platform.local.faults.add({ route, ...fault });
    // A second push makes the older preview's deletion (deployments.list/delete) part of the flow.
    for (let push = 0; push < 2; push++) {
      const run = await runCli(['deploy', '-m', agent, '--pr', '4', ...fast], { env: platform.env });
      expect(`${run.code} ${run.stderr}`).toMatch(/^0 /);
    }
    expect(await items('/v5/builds?agent_name=hello-agent')).toHaveLength(1);
    expect((await items('/v5/agentex/deployments?preview_label=pr-4')).filter(live)).toHaveLength(1);
    platform.local.faults.add({ route: 'deployments.delete', ...fault });
    const down = await runCli(['teardown', '--pr', '4'], { env: platform.env });
    expect(down.code).toBe(0);
    expect((await items('/v5/agentex/deployments?preview_label=pr-4')).filter(live)).toEqual([]);
  });
});

it('a failure report survives a failing logs route: the message still names agent and phase', async () => {
  const agent = await copyHelloAgent();
  await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: crash\n`);
  platform.local.faults.add({ route: 'deployments.logs', status: 500, times: Infinity });
  const run = await runCli(['deploy', '-m', agent, '--pr', '5', ...fast], { env: platform.env });
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/hello-agent: deploy failed: deployment \S+ ended FAILED/);
  expect(run.stdout).toMatch(/deployment logs unavailable: .*HTTP 500/);
  expect(run.stdout).toMatch(/\[event Warning BackOff\]/);
});
