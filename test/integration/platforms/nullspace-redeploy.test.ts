import { HELLO_AGENT } from '../../support/agents.js';
import { allOutput, runCli } from '../../support/io.js';
import { startNullspaceServer, type NullspaceServer } from '../../support/servers/nullspace.js';

// Redeploying an unchanged tree to Nullspace after its service crashed. The version and the
// service create are keyed by content (Idempotency-Key), so a redeploy of the same tree (a CLI
// retry, or "Re-run job" on the same commit) replays the same key. The replay must not hand back
// the old failed service as this run's result: that reported "deployment … ended failed" in
// milliseconds without starting anything, so a transient crash could never be retried away.
const KEY = 'ns-redeploy-key-Ub62Hy4Mw0';
let server: NullspaceServer;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  server = await startNullspaceServer({ apiKey: KEY, stepMs: 30 });
  env = { NULLSPACE_API_KEY: KEY, NULLSPACE_API_URL: server.url };
});
afterEach(async () => server.close());
afterAll(() => {
  expect(allOutput.filter((text) => text.includes(KEY))).toEqual([]);
  expect(allOutput.filter((text) => /edge_token/.test(text))).toEqual([]);
});

const deploy = () =>
  runCli(['--platform', 'nullspace', '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '31', '--poll-interval', '0.1s', '--preview-url', 'https://{label}.ns.example/'], { env });
const serving = () => server.services().filter((service) => service.status === 'ready');

it('a redeploy of the same tree after a crash starts the service again instead of reporting the old failure', async () => {
  // A first deploy tells us the version the tree maps to; then a teardown, and the version starts crashing.
  const first = await deploy();
  expect(first.code).toBe(0);
  const versionId = JSON.parse(first.stdout)[0].buildId.split(':')[1];
  expect((await runCli(['--platform', 'nullspace', 'teardown', '--pr', '31'], { env })).code).toBe(0);
  server.crash(versionId, 'ModuleNotFoundError: No module named agentex');

  const crashed = await deploy();
  expect(crashed.code).toBe(1);
  const failed = JSON.parse(crashed.stdout)[0];
  expect(failed).toMatchObject({ status: 'failed', failedPhase: 'deploy' });
  expect(crashed.stderr + crashed.stdout).toContain('ModuleNotFoundError: No module named agentex');

  // The cause goes away (a dependency is back); the same tree is deployed again.
  server.crash(versionId, '');
  const retried = await deploy();
  expect(retried.stderr).not.toContain('error:');
  expect(retried.code).toBe(0);
  const [result] = JSON.parse(retried.stdout);
  expect(result).toMatchObject({ status: 'healthy', previewLabel: 'pr-31', url: 'https://pr-31.ns.example/' });
  expect(serving().map((service) => `${service.deployment_id}:${service.id}`)).toEqual([result.deploymentId]);
  // Still one preview for the PR: nothing failed is left beside the healthy one.
  expect(server.services().filter((service) => !['stopped', 'stopping'].includes(service.status))).toHaveLength(1);

  const down = await runCli(['--platform', 'nullspace', 'teardown', '--pr', '31'], { env });
  expect(down.code).toBe(0);
  expect(down.stdout).toContain('1 deleted');
  expect(serving()).toEqual([]);
});

it('a version that keeps crashing fails each deploy with its reason and starts no pile of services', async () => {
  const first = await deploy();
  const versionId = JSON.parse(first.stdout)[0].buildId.split(':')[1];
  await runCli(['--platform', 'nullspace', 'teardown', '--pr', '31'], { env });
  server.crash(versionId, 'process exited with code 1');
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await deploy();
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('process exited with code 1');
  }
  // The stopped first service and one crashed service, started again on each attempt.
  expect(server.services().map((service) => service.status).sort()).toEqual(['failed', 'stopped']);
});
