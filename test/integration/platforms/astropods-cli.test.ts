import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { HELLO_AGENT } from '../../support/agents.js';
import { allOutput, runCli } from '../../support/io.js';
import { startAstropodsServer, type AstropodsServer } from '../../support/servers/astropods.js';

// `agent-preview --platform astropods` end to end through the CLI, against the in-repo Astropods
// server over real HTTP. Astropods builds nothing: the CLI registers the pushed image (--image, else
// the manifest's) on a preview agent of its own and deploys it; the URL is the platform's own, the
// first ready `external_urls` entry that carries no credential.
const TOKEN = 'astro-cli-token-Ve73Hs0Yq5';
const ACCOUNT = 'astro-team';
const IMAGE = 'ghcr.io/acme/{agent}:7e6d5c4';

type Json = Record<string, any>;

let server: AstropodsServer;
let running = false;
let env: NodeJS.ProcessEnv;

async function start(options: { credentialUrl?: boolean; templateFlow?: boolean; publicUrl?: boolean; stepMs?: number } = {}): Promise<void> {
  if (running) await server.close();
  server = await startAstropodsServer({ token: TOKEN, account: ACCOUNT, stepMs: 30, ...options });
  running = true;
  env = { ASTRO_ACCESS_TOKEN: TOKEN, ASTRO_API_URL: server.url, ASTRO_ACCOUNT: ACCOUNT };
}

beforeEach(() => start());
afterEach(async () => {
  if (running) await server.close();
  running = false;
});
afterAll(() => {
  expect(allOutput.filter((text) => text.includes(TOKEN))).toEqual([]);
});

const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(['--platform', 'astropods', ...args], { env: { ...env, ...extraEnv } });
const deploy = (pr: number, extra: string[] = []) => cli(['--json', 'deploy', '-m', HELLO_AGENT, '--pr', String(pr), '--image', IMAGE, '--poll-interval', '0.1s', ...extra]);
/** The images registered, as the spec each registration carried names them. */
const registered = () =>
  server.requests
    .filter((request) => request.method === 'POST' && request.path.endsWith('/register'))
    .map((request) => (parseYaml(String(request.body?.spec_content)) as { agent: { image: string } }).agent.image);

describe('agent-preview --platform astropods', () => {
  it("deploys the pushed image as a preview at the platform's URL, lists it, redeploys a new image in place and tears it down", async () => {
    const first = await deploy(21);
    expect(first.stderr).not.toContain('error:');
    expect(first.code).toBe(0);
    const [result] = JSON.parse(first.stdout);
    expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: 'pr-21', url: 'https://hello-agent-pr-21.astro-team.astropods.app' });
    expect(first.stderr).toContain('astropods does not build images; deploying the pushed image ghcr.io/acme/hello-agent:7e6d5c4');
    expect(registered()).toEqual(['ghcr.io/acme/hello-agent:7e6d5c4']);
    const [stored] = server.deployments();
    expect(server.deployments()).toHaveLength(1);
    expect(stored).toMatchObject({
      id: result.deploymentId,
      name: 'hello-agent-pr-21',
      display_name: 'hello-agent-pr-21',
      image: 'ghcr.io/acme/hello-agent:7e6d5c4',
      status: 'active',
    });
    expect(result.url).toBe(stored.external_urls.find((entry: Json) => entry.ready).url);
    expect(server.requests.every((request) => request.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);

    // Another process (no memory of the deploy) finds the preview by its label alone.
    const status = await cli(['--json', 'status', '--pr', '21']);
    expect(status.code).toBe(0);
    const listed = JSON.parse(status.stdout) as Json[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: result.deploymentId, phase: 'healthy', previewLabel: 'pr-21', agentName: 'hello-agent', url: result.url });
    const table = await cli(['status', '--pr', '21']);
    expect(table.stdout).toContain(result.url);

    // The next push deploys another image: the same deployment is updated in place, under the same name and URL.
    const second = await deploy(21, ['--image', 'ghcr.io/acme/{agent}:8f9e0d1']);
    expect(second.code).toBe(0);
    const [again] = JSON.parse(second.stdout);
    expect(again).toMatchObject({ status: 'healthy', deploymentId: result.deploymentId, url: result.url });
    expect(registered()).toEqual(['ghcr.io/acme/hello-agent:7e6d5c4', 'ghcr.io/acme/hello-agent:8f9e0d1']);
    expect(server.deployments()).toHaveLength(1);
    expect(server.deployments()[0].image).toBe('ghcr.io/acme/hello-agent:8f9e0d1');

    const down = await cli(['teardown', '--pr', '21']);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('previews of "pr-21": 1 deleted, 0 already gone');
    expect(server.deployments()).toEqual([]);
    expect(server.requests.filter((request) => request.path.endsWith('/undeploy')).map((request) => request.body)).toEqual([{ deployment_id: result.deploymentId }]);
    // The preview's registered agent cannot be deleted on Astropods; it is archived.
    expect(server.agents().map((agent) => [agent.name, agent.archived_at !== null])).toEqual([['hello-agent-pr-21', true]]);

    const repeat = await cli(['teardown', '--pr', '21']);
    expect(repeat.code).toBe(0);
    expect(repeat.stdout).toContain('previews of "pr-21": 0 deleted, 0 already gone');
    const gone = await cli(['status', '--pr', '21']);
    expect(gone.stdout.trim()).toBe('no deployments found');
  });

  it("without --image deploys the manifest's repository:tag, and a --preview-url template does not override the platform's URL", async () => {
    const run = await cli(['--json', 'deploy', '-m', HELLO_AGENT, '--pr', '22', '--poll-interval', '0.1s', '--preview-url', 'https://{label}.elsewhere.example/']);
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout);
    expect(result.url).toBe('https://hello-agent-pr-22.astro-team.astropods.app');
    expect(registered()).toEqual(['registry.example.com/agents/hello-agent:latest']);
  });

  it("moves to a stable suffixed display name when another agent holds the preview's, and a teardown leaves the holder alone", async () => {
    const holder = server.occupy('hello-agent-pr-23', 'someone-elses-agent');
    const run = await deploy(23);
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout);
    const suffix = createHash('sha256').update(`${ACCOUNT}/hello-agent/pr-23`).digest('hex').slice(0, 6);
    expect(result).toMatchObject({ status: 'healthy', url: `https://hello-agent-pr-23-${suffix}.astro-team.astropods.app` });
    expect(
      server
        .deployments()
        .map((deployment) => deployment.display_name)
        .sort(),
    ).toEqual(['hello-agent-pr-23', `hello-agent-pr-23-${suffix}`]);

    // A second deploy finds its own fallback again rather than making a third.
    const again = await deploy(23);
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ deploymentId: result.deploymentId, url: result.url });

    const down = await cli(['teardown', '--pr', '23']);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('1 deleted');
    expect(server.deployments().map((deployment) => deployment.id)).toEqual([holder.id]);
  });

  it('never takes a ready URL that carries a credential', async () => {
    await start({ credentialUrl: true, templateFlow: true });
    const run = await deploy(24);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)[0].url).toBe('https://hello-agent-pr-24.astro-team.astropods.app');
    const status = await cli(['--json', 'status', '--pr', '24']);
    expect(JSON.parse(status.stdout)[0].url).toBe('https://hello-agent-pr-24.astro-team.astropods.app');
    const everything = [run.stdout, run.stderr, status.stdout, status.stderr].join('\n');
    expect(everything).not.toContain('adm-secret-123');
    expect(everything).not.toContain('/admin');
  });

  it('a deployment whose only ready URL carries a credential falls back to the --preview-url template', async () => {
    await start({ credentialUrl: true, publicUrl: false });
    const run = await deploy(28, ['--preview-url', 'https://{label}.astro-previews.example/']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ status: 'healthy', url: 'https://pr-28.astro-previews.example/' });
    expect(run.stdout + run.stderr).not.toContain('adm-secret-123');
  });

  // A platform that usually gives URLs: a deployment that gave none we may show is warned about.
  it('a healthy deployment with no usable URL and no template says that it has no URL', async () => {
    await start({ credentialUrl: true, publicUrl: false });
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '29', '--image', IMAGE, '--poll-interval', '0.1s']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/is healthy/);
    expect(run.stdout + run.stderr).not.toContain('adm-secret-123');
    expect(run.stderr).toMatch(/warning: .*no (usable |public )?URL/i);
  });

  it('a partial (207) deploy exits 1 with its errors, and says nothing of health or a URL', async () => {
    server.partialNextDeploy(['interface slack: missing credential SLACK_BOT_TOKEN']);
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '25', '--image', IMAGE, '--poll-interval', '0.1s', '--timeout', '5s']);
    expect(run.code).toBe(1);
    const text = run.stdout + run.stderr;
    expect(text).toMatch(/✘ hello-agent: .*deploy failed: deployment \S+ ended (partial|failed)/);
    expect(text).toContain('[error] interface slack: missing credential SLACK_BOT_TOKEN');
    expect(text).not.toMatch(/is healthy|astropods\.app/);
  });

  it('a wrong token fails with the call and status, exit 1, and never prints the token it was given', async () => {
    const wrong = 'astro-wrong-token-Lc93Nb1Xe7';
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '26', '--image', IMAGE], { ASTRO_ACCESS_TOKEN: wrong });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✘ hello-agent: .*register agent.* HTTP 401: unauthorized: invalid token/);
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expect(server.deployments()).toEqual([]);
  });

  it('a malformed image, or no account, is bad input (exit 2) and sends nothing', async () => {
    const noTag = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '27', '--image', 'ghcr.io/acme/{agent}']);
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toMatch(/--image.*has no tag/);
    const badTag = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '27', '--image', 'ghcr.io/acme/{agent}:-bad']);
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/"-bad" is not an image tag/);
    const noAccount = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '27', '--image', IMAGE], { ASTRO_ACCOUNT: '' });
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain('no Astropods account: set ASTRO_ACCOUNT');
    expect(server.requests).toEqual([]);
  });
});
