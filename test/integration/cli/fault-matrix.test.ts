import { startLocalPlatform, type LocalPlatform, type RouteId } from '../../../src/platforms/local/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { copyHelloAgent, editFile, removeAgentCopies } from '../../support/agents.js';
import { allOutput, runCli } from '../../support/io.js';
import path from 'node:path';

const API_KEY = 'sk-matrix-Zq0Wd8Yt5Ne3';
let local: LocalPlatform;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 30, deployStepMs: 30 });
  env = { SGP_API_KEY: API_KEY, SGP_CLIENT_BASE_URL: local.url };
});
afterEach(async () => {
  await local.close();
  await removeAgentCopies();
});
afterAll(() => {
  expect(allOutput.filter((text) => text.includes(API_KEY))).toEqual([]);
  clearSecrets();
});

async function items(route: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${local.url}${route}`, { headers: { 'x-api-key': API_KEY } });
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
    local.faults.add({ route, ...fault });
    // A second push makes the older preview's deletion (deployments.list/delete) part of the flow.
    for (let push = 0; push < 2; push++) {
      const run = await runCli(['deploy', '-m', agent, '--pr', '4', ...fast], { env });
      expect(`${run.code} ${run.stderr}`).toMatch(/^0 /);
    }
    expect(await items('/v5/builds?agent_name=hello-agent')).toHaveLength(1);
    expect((await items('/v5/agentex/deployments?preview_label=pr-4')).filter(live)).toHaveLength(1);
    local.faults.add({ route: 'deployments.delete', ...fault });
    const down = await runCli(['teardown', '--pr', '4'], { env });
    expect(down.code).toBe(0);
    expect((await items('/v5/agentex/deployments?preview_label=pr-4')).filter(live)).toEqual([]);
  });
});

it('a failure report survives a failing logs route: the message still names agent and phase', async () => {
  const agent = await copyHelloAgent();
  await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: crash\n`);
  local.faults.add({ route: 'deployments.logs', status: 500, times: Infinity });
  const run = await runCli(['deploy', '-m', agent, '--pr', '5', ...fast], { env });
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/hello-agent: deploy failed: deployment \S+ ended FAILED/);
  expect(run.stdout).toMatch(/deployment logs unavailable: .*HTTP 500/);
  expect(run.stdout).toMatch(/\[event Warning BackOff\]/);
});
