import { startNullspaceServer, type NullspaceServer } from '../../support/servers/nullspace.js';
import { HELLO_AGENT } from '../../support/agents.js';
import { runCli } from '../../support/io.js';

const KEY = 'ns-cli-key-Tq83Lw0Zp1';
let server: NullspaceServer;

beforeAll(async () => {
  server = await startNullspaceServer({ apiKey: KEY, stepMs: 30 });
});
afterAll(async () => server.close());

it('agent-preview deploy --platform nullspace previews, fills the URL from the template, and tears down', async () => {
  const env = { NULLSPACE_API_KEY: KEY, NULLSPACE_API_URL: server.url };
  const deploy = await runCli(
    ['--platform', 'nullspace', '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '6', '--poll-interval', '0.1s', '--preview-url', 'https://{label}.previews.example/'],
    { env },
  );
  expect(deploy.stderr).not.toContain('error:');
  expect(deploy.code).toBe(0);
  const [result] = JSON.parse(deploy.stdout);
  expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-6', url: 'https://pr-6.previews.example/' });
  const everything = deploy.stdout + deploy.stderr;
  expect(everything).not.toContain(KEY);
  expect(everything).not.toMatch(/edge_token=(?!\*)/);
  for (const token of server.edgeTokens ?? []) expect(everything).not.toContain(token);

  const down = await runCli(['--platform', 'nullspace', 'teardown', '--pr', '6'], { env });
  expect(down.code).toBe(0);
  expect(down.stdout).toContain('previews of "pr-6": 1 deleted');
});
