import { startNullspaceServer, type NullspaceServer } from '../../support/servers/nullspace.js';
import { HELLO_AGENT } from '../../support/agents.js';
import { allOutput, runCli } from '../../support/io.js';

// `agent-preview --platform nullspace` end to end through the CLI, against the in-repo server that
// validates versions as the reference describes them (bundle manifest and deployment config) and
// starts a service only from a version of its own deployment.
const KEY = 'ns-cli-key-Tq83Lw0Zp1';
let server: NullspaceServer;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  server = await startNullspaceServer({ apiKey: KEY, stepMs: 30 });
  env = { NULLSPACE_API_KEY: KEY, NULLSPACE_API_URL: server.url };
});
afterEach(async () => server.close());
afterAll(() => {
  // No run, success or failure, printed the API key or an edge_token.
  expect(allOutput.filter((text) => text.includes(KEY))).toEqual([]);
  expect(allOutput.filter((text) => /edge_token|et_[0-9a-f]{24}/.test(text))).toEqual([]);
});

const deploy = (pr: number) =>
  runCli(['--platform', 'nullspace', '--json', 'deploy', '-m', HELLO_AGENT, '--pr', String(pr), '--poll-interval', '0.1s', '--preview-url', 'https://{label}.previews.example/'], {
    env,
  });
const live = () => server.services().filter((service) => !['stopped', 'stopping'].includes(service.status));

it('deploy --platform nullspace previews, redeploys the same tree, tears down twice and leaves nothing', async () => {
  const first = await deploy(6);
  expect(first.stderr).not.toContain('error:');
  expect(first.code).toBe(0);
  const [result] = JSON.parse(first.stdout);
  expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-6', url: 'https://pr-6.previews.example/' });
  // Nullspace enforces no expiry, and the CLI does not claim one.
  expect(first.stderr).toContain('creating preview "pr-6" (nullspace does not expire previews: it is removed when the pull request closes, or by the sweep)');
  // The version and its service live in the preview's own deployment.
  const [preview] = server.agentDeployments();
  expect(preview.name).toBe('hello-agent-pr-6');
  expect(result.buildId.split(':')[0]).toBe(preview.id);
  expect(result.deploymentId.split(':')[0]).toBe(preview.id);

  // The same tree again: a new version of the same deployment; the older service is replaced.
  const second = await deploy(6);
  expect(second.code).toBe(0);
  const [again] = JSON.parse(second.stdout);
  expect(again.replaced).toEqual([result.deploymentId]);
  expect(live().map((service) => `${service.deployment_id}:${service.id}`)).toEqual([again.deploymentId]);

  const down = await runCli(['--platform', 'nullspace', 'teardown', '--pr', '6'], { env });
  expect(down.code).toBe(0);
  expect(down.stdout).toContain('previews of "pr-6": 1 deleted');
  expect(live()).toEqual([]);
  expect(server.agentDeployments().map((deployment) => deployment.status)).toEqual(['deleted']);
  const twice = await runCli(['--platform', 'nullspace', 'teardown', '--pr', '6'], { env });
  expect(twice.code).toBe(0);
  expect(twice.stdout).toContain('previews of "pr-6": 0 deleted, 0 already gone');
});

it('a crashed deploy exits 1 with its reason, and the next push replaces the failed service', async () => {
  server.crashNextVersion('ModuleNotFoundError: No module named agentex');
  const crashed = await deploy(31);
  expect(crashed.code).toBe(1);
  expect(JSON.parse(crashed.stdout)[0]).toMatchObject({ status: 'failed', failedPhase: 'deploy' });
  expect(crashed.stderr + crashed.stdout).toContain('ModuleNotFoundError: No module named agentex');

  const retried = await deploy(31);
  expect(retried.code).toBe(0);
  const [result] = JSON.parse(retried.stdout);
  expect(result.status).toBe('healthy');
  // Still one preview for the PR: the failed service was stopped beside the healthy one.
  expect(live().map((service) => `${service.deployment_id}:${service.id}`)).toEqual([result.deploymentId]);
});

it('a wrong key fails with the call and status, exit 1, and never prints the key', async () => {
  const wrong = 'ns-wrong-key-Bv72Kd5Sx9';
  const run = await runCli(['--platform', 'nullspace', 'deploy', '-m', HELLO_AGENT, '--pr', '7'], { env: { ...env, NULLSPACE_API_KEY: wrong } });
  expect(run.code).toBe(1);
  expect(run.stdout + run.stderr).toMatch(/POST \/v1\/agent-deployments \(create agent deployment\) failed with HTTP 401/);
  expect(run.stdout + run.stderr).not.toContain(wrong);
});
