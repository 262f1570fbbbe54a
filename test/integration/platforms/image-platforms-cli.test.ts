import { HELLO_AGENT } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { startAstropodsServer, type AstropodsServer } from '../../support/servers/astropods.js';
import { startMutxServer, type MutxServer } from '../../support/servers/mutx.js';

// `agent-preview deploy --platform X` against the in-repo servers of the platforms that deploy a
// pushed image instead of building one.
const MUTX_KEY = 'mutx-cli-key-Fw29Tg7Lq1';
const ASTRO_TOKEN = 'astro-cli-token-Jd84Ms2Vb6';
const IMAGE = 'ghcr.io/acme/{agent}:9c8b7a6';

describe('agent-preview deploy --platform mutx', () => {
  let server: MutxServer;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    server = await startMutxServer({ apiKey: MUTX_KEY, stepMs: 30 });
    env = { MUTX_API_KEY: MUTX_KEY, MUTX_API_URL: server.url };
  });
  afterEach(async () => server.close());

  it('previews the pushed image, fills the URL from the template, lists it, and tears it down', async () => {
    const deploy = await runCli(
      ['--platform', 'mutx', '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '4', '--image', IMAGE, '--repo', 'github.com/acme/agents', '--poll-interval', '0.1s', '--preview-url', 'https://{label}.mutx.example/'],
      { env },
    );
    expect(deploy.stderr).not.toContain('error:');
    expect(deploy.code).toBe(0);
    const [result] = JSON.parse(deploy.stdout);
    expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-4', url: 'https://pr-4.mutx.example/' });
    expect(deploy.stderr).toContain('deploying the pushed image ghcr.io/acme/hello-agent:9c8b7a6');
    const [agent] = server.agents();
    expect(agent.config).toMatchObject({ image: 'ghcr.io/acme/hello-agent:9c8b7a6', preview_label: 'pr-4', source_repo: 'github.com/acme/agents' });

    const status = await runCli(['--platform', 'mutx', '--json', 'status', '--pr', '4'], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).map((deployment: { id: string }) => deployment.id)).toEqual([result.deploymentId]);

    const down = await runCli(['--platform', 'mutx', 'teardown', '--pr', '4', '--repo', 'github.com/acme/agents'], { env });
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('previews of "pr-4": 1 deleted');
    expect(server.deployments().find((deployment) => deployment.id === result.deploymentId)?.status).toBe('killed');
    expect(deploy.stdout + deploy.stderr + status.stdout + down.stdout + down.stderr).not.toContain(MUTX_KEY);
  });

  it('a deployment that fails shows its error and agent logs, and exits 1', async () => {
    server.setNextDeploymentFails('container exited with code 1', ["ModuleNotFoundError: No module named 'agentex'"]);
    const deploy = await runCli(['--platform', 'mutx', 'deploy', '-m', HELLO_AGENT, '--pr', '5', '--image', IMAGE, '--poll-interval', '0.1s'], { env });
    expect(deploy.code).toBe(1);
    expect(deploy.stdout + deploy.stderr).toContain('container exited with code 1');
    expect(deploy.stdout + deploy.stderr).toContain("ModuleNotFoundError: No module named 'agentex'");
  });

  it('a malformed image, or an image for a platform that builds, is bad input and sends nothing', async () => {
    const noTag = await runCli(['--platform', 'mutx', 'deploy', '-m', HELLO_AGENT, '--pr', '5', '--image', 'ghcr.io/acme/hello-agent'], { env });
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toMatch(/--image.*has no tag/);
    const onAgentex = await runCli(['--platform', 'agentex', 'deploy', '-m', HELLO_AGENT, '--pr', '5', '--image', 'ghcr.io/acme/hello-agent:1'], {
      env: { SGP_API_KEY: 'sk-unused-1234567', SGP_CLIENT_BASE_URL: server.url, SGP_ACCOUNT_ID: 'acct' },
    });
    expect(onAgentex.code).toBe(2);
    expect(onAgentex.stderr).toContain('agentex builds the image from the agent');
    expect(server.requests).toEqual([]);
  });
});

describe('agent-preview deploy --platform astropods', () => {
  let server: AstropodsServer;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    server = await startAstropodsServer({ token: ASTRO_TOKEN, account: 'astro-team', stepMs: 30 });
    env = { ASTRO_ACCESS_TOKEN: ASTRO_TOKEN, ASTRO_API_URL: server.url, ASTRO_ACCOUNT: 'astro-team' };
  });
  afterEach(async () => server.close());

  it("previews the pushed image with the platform's own URL, and tears it down", async () => {
    const deploy = await runCli(['--platform', 'astropods', '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '6', '--image', IMAGE, '--poll-interval', '0.1s'], { env });
    expect(deploy.stderr).not.toContain('error:');
    expect(deploy.code).toBe(0);
    const [result] = JSON.parse(deploy.stdout);
    expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-6' });
    const live = server.deployments().find((deployment) => deployment.id === result.deploymentId);
    expect(live).toBeDefined();
    expect(result.url).toBe(live!.external_urls.find((entry: { ready?: boolean }) => entry.ready).url);
    expect(server.requests.some((request) => request.method === 'POST' && request.path.endsWith('/register'))).toBe(true);

    const down = await runCli(['--platform', 'astropods', 'teardown', '--pr', '6'], { env });
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('previews of "pr-6": 1 deleted');
    expect(server.deployments()).toEqual([]);
    expect(deploy.stdout + deploy.stderr + down.stdout + down.stderr).not.toContain(ASTRO_TOKEN);
  });

  it('a partial (207) deploy fails with its errors, and exits 1', async () => {
    server.partialNextDeploy(['interface slack: missing credential SLACK_BOT_TOKEN']);
    const deploy = await runCli(['--platform', 'astropods', 'deploy', '-m', HELLO_AGENT, '--pr', '7', '--image', IMAGE, '--poll-interval', '0.1s', '--timeout', '5s'], { env });
    expect(deploy.code).toBe(1);
    expect(deploy.stdout + deploy.stderr).toContain('missing credential SLACK_BOT_TOKEN');
  });
});
