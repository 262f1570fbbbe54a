import { copyHelloAgent, editFile } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';
import { until } from '../../support/wait.js';
import path from 'node:path';

const API_KEY = 'sk-flow-7Q2vX9mLr4TzWb81';
const platform = useLocalPlatform(API_KEY);

const fast = ['--poll-interval', '0.1s', '--timeout', '60s'];

async function api<T>(route: string): Promise<T> {
  const response = await fetch(`${platform.local.url}${route}`, { headers: { 'x-api-key': API_KEY } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

interface Listed {
  items: Record<string, unknown>[];
}

async function buildsOf(agent: string): Promise<Record<string, unknown>[]> {
  return (await api<Listed>(`/v5/builds?agent_name=${agent}&limit=100`)).items;
}

async function previewsOf(label: string): Promise<Record<string, unknown>[]> {
  return (await api<Listed>(`/v5/agentex/deployments?preview_label=${label}&limit=100`)).items;
}

function liveStatus(deployment: Record<string, unknown>): boolean {
  return !['DELETED', 'SUPERSEDED', 'CANCELLED'].includes(String(deployment.status).toUpperCase());
}

describe('agent-preview deploy / teardown against the local platform (Agentex client via env vars)', () => {
  it('previews a PR, reuses the unchanged build on the next push, and tears down idempotently', async () => {
    const agent = await copyHelloAgent();

    const first = await runCli(['deploy', '-m', agent, '--pr', '7', ...fast, '--json'], { env: platform.env });
    expect(first.stderr).not.toContain('error:');
    expect(first.code).toBe(0);
    const [result] = JSON.parse(first.stdout);
    expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-7', buildReused: false });
    // The build log was streamed live into the progress output.
    expect(first.stderr).toMatch(/hello-agent │ .*Dockerfile/);

    const deployments = await previewsOf('pr-7');
    expect(deployments).toHaveLength(1);
    expect(result.url).toBe(deployments[0].url);
    const page = await fetch(String(deployments[0].url));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('hello-agent');
    expect(html).toContain(result.buildId);

    const second = await runCli(['deploy', '-m', agent, '--pr', '7', ...fast, '--json'], { env: platform.env });
    expect(second.code).toBe(0);
    const [again] = JSON.parse(second.stdout);
    expect(again).toMatchObject({ status: 'healthy', buildReused: true, buildId: result.buildId });
    expect(again.deploymentId).not.toBe(result.deploymentId);
    expect(again.replaced).toEqual([result.deploymentId]);
    expect(second.stderr).toContain('reusing build');
    expect(await buildsOf('hello-agent')).toHaveLength(1);
    expect((await previewsOf('pr-7')).filter(liveStatus).map((d) => d.id)).toEqual([again.deploymentId]);

    const down = await runCli(['teardown', '--pr', '7'], { env: platform.env });
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('previews of "pr-7": 1 deleted');
    expect((await previewsOf('pr-7')).filter(liveStatus)).toEqual([]);
    expect((await fetch(String(deployments[0].url))).status).toBe(404);

    const repeat = await runCli(['teardown', '--pr', '7'], { env: platform.env });
    expect(repeat.code).toBe(0);
    expect(repeat.stdout).toContain('0 deleted');
  });

  it('rebuilds when the context changes, and does not when only an ignored file changes', async () => {
    const agent = await copyHelloAgent();
    expect((await runCli(['build', '-m', agent, ...fast], { env: platform.env })).code).toBe(0);
    const ignored = path.join(agent, 'project', 'notes.log');
    await editFile(path.join(agent, '.dockerignore'), (text) => `${text}\n**/*.log\n`);
    // Changing .dockerignore itself changes the context: one more build.
    expect((await runCli(['build', '-m', agent, ...fast], { env: platform.env })).code).toBe(0);
    await import('node:fs/promises').then((fs) => fs.writeFile(ignored, 'scratch\n'));
    const third = await runCli(['build', '-m', agent, ...fast], { env: platform.env });
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('reused');
    expect(await buildsOf('hello-agent')).toHaveLength(2);
  });

  it('fails a broken build naming the agent, the phase and the log tail', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: fail-build\n`);
    const run = await runCli(['deploy', '-m', agent, '--pr', '8', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✘ hello-agent: build failed: build \S+ ended FAILED/);
    expect(await previewsOf('pr-8')).toEqual([]);
  });

  it('fails a crashing deployment with its events and logs', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: crash\n`);
    const run = await runCli(['deploy', '-m', agent, '--pr', '9', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/hello-agent: deploy failed: deployment \S+ ended/);
    expect(run.stdout).toMatch(/\[event/);
    expect(run.stdout).toMatch(/Traceback/);
  });

  it('cancels the in-flight build on the platform when the run is interrupted', async () => {
    await platform.restart({ buildStepMs: 2000 });
    const agent = await copyHelloAgent();
    const controller = new AbortController();
    const running = runCli(['build', '-m', agent, ...fast], { env: platform.env, signal: controller.signal });
    // Interrupted once the CLI knows its build (it follows it), not merely once the platform has it:
    // a create still in flight has no id to cancel yet.
    await until(async () => platform.local.requests.some((request) => request.route === 'builds.get' || request.route === 'builds.logs'), Boolean);
    controller.abort();
    const run = await running;
    expect(run.code).toBe(130);
    const [build] = await buildsOf('hello-agent');
    expect(String(build.build_status ?? build.status)).toMatch(/CANCEL/);
    expect(run.stderr).toContain('cancelled build');
  });

  it('names the call and status of an API failure without printing the key', async () => {
    const agent = await copyHelloAgent();
    const run = await runCli(['build', '-m', agent, ...fast], { env: { ...platform.env, SGP_API_KEY: 'sk-wrong-key-Hh31xPz' } });
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/list builds.*HTTP 401/);
    expect(run.stdout + run.stderr).not.toContain('sk-wrong-key-Hh31xPz');
  });
});
