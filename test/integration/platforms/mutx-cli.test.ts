import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { parseSourceRepo } from '../../../src/pipeline/source-repo.js';
import { labelRuleFor } from '../../../src/platforms/index.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MutxPlatform } from '../../../src/platforms/mutx/mutx.js';
import { HELLO_AGENT } from '../../support/agents.js';
import { startTestForge } from '../../support/forge/server.js';
import { allOutput, runCli } from '../../support/io.js';
import { startMutxServer, type MutxServer } from '../../support/servers/mutx.js';
import { startNullspaceServer } from '../../support/servers/nullspace.js';

// `agent-preview --platform mutx` end to end through the CLI, against the in-repo MUTX server over
// real HTTP. MUTX builds nothing and its deployments carry no URL: the CLI deploys the pushed image
// given by --image and links the preview only through the --preview-url template.
const KEY = 'mutx-cli-key-Zr51Qa8Wn3';
const IMAGE = 'ghcr.io/acme/{agent}:1a2b3c4';
const REPO = 'github.com/acme/agents';
/** The label carries the repository's identity hash (pipeline/label.ts). */
const LABEL = resolvePreviewLabel(undefined, { number: 11 }, '--label', labelRuleFor('mutx'), parseSourceRepo(REPO)).label;

type Json = Record<string, any>;

let server: MutxServer;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  server = await startMutxServer({ apiKey: KEY, stepMs: 30 });
  env = { MUTX_API_KEY: KEY, MUTX_API_URL: server.url };
});
afterEach(async () => server.close());
afterAll(() => {
  // Nothing any run printed, success or failure, carried the key.
  expect(allOutput.filter((text) => text.includes(KEY))).toEqual([]);
});

const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(['--platform', 'mutx', ...args], { env: { ...env, ...extraEnv } });
const deploy = (pr: number, extra: string[] = []) => cli(['--json', 'deploy', '-m', HELLO_AGENT, '--pr', String(pr), '--image', IMAGE, '--poll-interval', '0.1s', ...extra]);
const live = () => server.deployments().filter((deployment) => !['killed', 'stopped', 'failed'].includes(deployment.status));

describe('agent-preview --platform mutx', () => {
  it('deploys the pushed image as a preview, links it through the template, lists it, redeploys it and tears it down', async () => {
    const first = await deploy(11, ['--repo', REPO, '--preview-url', 'https://{label}--{agent}.mutx.example/']);
    expect(first.stderr).not.toContain('error:');
    expect(first.code).toBe(0);
    const [result] = JSON.parse(first.stdout);
    expect(result).toMatchObject({ agent: 'hello-agent', status: 'healthy', previewLabel: LABEL, url: `https://${LABEL}--hello-agent.mutx.example/` });
    expect(result.buildId).toBeUndefined();
    expect(first.stderr).toContain('mutx does not build images; deploying the pushed image ghcr.io/acme/hello-agent:1a2b3c4');
    // Preview lifetimes are told as they are: MUTX enforces no expiry.
    expect(first.stderr).toContain(`creating preview "${LABEL}" (mutx does not expire previews: it is removed when the pull request closes, or by the sweep)`);
    expect(first.stderr).not.toContain('expires in');
    // The server's own state: one custom agent running the image, the label and repository in its name and description.
    expect(server.agents()).toHaveLength(1);
    expect(server.agents()[0]).toMatchObject({ name: `hello-agent-${LABEL}`, type: 'custom', config: { image: 'ghcr.io/acme/hello-agent:1a2b3c4' } });
    expect(server.agents()[0].description).toContain(`[agent-preview agent=hello-agent label=${LABEL} repo=${REPO}]`);
    expect(live().map((deployment) => deployment.id)).toEqual([result.deploymentId]);
    expect(live()[0].status).toBe('running');
    // The key went only into the Authorization header.
    expect(server.requests.every((request) => request.headers.authorization === `Bearer ${KEY}`)).toBe(true);

    const status = await cli(['--json', 'status', '--label', LABEL]);
    expect(status.code).toBe(0);
    const listed = JSON.parse(status.stdout) as Json[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: result.deploymentId, phase: 'healthy', rawStatus: 'running', previewLabel: LABEL, agentName: 'hello-agent', sourceRepo: REPO });

    // A second push of the same image finds the preview already running it: nothing new is started.
    const second = await deploy(11, ['--repo', REPO, '--preview-url', 'https://{label}--{agent}.mutx.example/']);
    expect(second.code).toBe(0);
    const [again] = JSON.parse(second.stdout);
    expect(again).toMatchObject({ status: 'healthy', url: `https://${LABEL}--hello-agent.mutx.example/`, deploymentId: result.deploymentId, replaced: [] });
    expect(server.agents()).toHaveLength(1);
    expect(server.deployments()).toHaveLength(1);

    const down = await cli(['teardown', '--pr', '11', '--repo', REPO]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`previews of "${LABEL}": 1 deleted, 0 already gone`);
    // Nothing of the preview is left on the account: its agent went with its deployment.
    expect(server.agents()).toEqual([]);
    expect(server.deployments()).toEqual([]);

    // Safe to repeat: nothing is left, so nothing is deleted and nothing fails.
    const again2 = await cli(['teardown', '--pr', '11', '--repo', REPO]);
    expect(again2.code).toBe(0);
    expect(again2.stdout).toContain(`previews of "${LABEL}": 0 deleted, 0 already gone`);
    const after = await cli(['--json', 'status', '--label', LABEL]);
    expect(JSON.parse(after.stdout)).toEqual([]);
  });

  it('says plainly that there is no URL when no --preview-url template is given', async () => {
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '12', '--image', IMAGE, '--poll-interval', '0.1s']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('warning: hello-agent: mutx deployments carry no URL; set a preview-url template (--preview-url) to link the preview');
    expect(run.stdout).toMatch(/✔ hello-agent: preview pr-12 \S+ is healthy; no build/);
    expect(run.stdout).not.toContain(' at ');
    const json = await cli(['--json', 'status', '--pr', '12']);
    expect(JSON.parse(json.stdout)[0].url).toBeUndefined();
  });

  it('a new image on the next push gets a new preview agent; the old one goes with its deployment and a teardown leaves nothing', async () => {
    const first = await deploy(13);
    expect(first.code).toBe(0);
    const second = await deploy(13, ['--image', 'ghcr.io/acme/{agent}:5d6e7f8']);
    expect(second.code).toBe(0);
    const [result] = JSON.parse(second.stdout);
    expect(result.status).toBe('healthy');
    // The old image's agent went with the preview it replaced.
    expect(result.replaced).toHaveLength(1);
    expect(server.agents().map((agent) => agent.config.image)).toEqual(['ghcr.io/acme/hello-agent:5d6e7f8']);
    expect(live().map((deployment) => deployment.id)).toEqual([result.deploymentId]);

    const down = await cli(['teardown', '--pr', '13']);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('1 deleted');
    expect(server.agents()).toEqual([]);
    expect(server.deployments()).toEqual([]);
  });

  it('a deployment that fails exits 1 with its error, its events and the agent log', async () => {
    server.setNextDeploymentFails('container exited with code 1', ['Traceback (most recent call last):', "ModuleNotFoundError: No module named 'agentex'"]);
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '14', '--image', IMAGE, '--poll-interval', '0.1s']);
    expect(run.code).toBe(1);
    const text = run.stdout + run.stderr;
    expect(text).toMatch(/✘ hello-agent: .*deploy failed: deployment \S+ ended failed/);
    expect(text).toContain('[event fail failed] fail: failed - container exited with code 1');
    expect(text).toContain("[error] ModuleNotFoundError: No module named 'agentex'");
    expect(text).not.toMatch(/is healthy/);
  });

  it('a deployment that never becomes healthy in time is killed, and the user is told', async () => {
    await server.close();
    server = await startMutxServer({ apiKey: KEY, stepMs: 60_000 });
    env = { MUTX_API_KEY: KEY, MUTX_API_URL: server.url };
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '15', '--image', IMAGE, '--poll-interval', '0.1s', '--timeout', '1s']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/did not finish within 1s; preview deployment \S+ was deleted/);
    expect(server.deployments()).toEqual([]);
    expect(server.agents()).toEqual([]);
  });

  it('a wrong key fails with the call and status, exit 1, and never prints the key it was given', async () => {
    const wrong = 'mutx-wrong-key-Px40Ud7Kc2';
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '16', '--image', IMAGE], { MUTX_API_KEY: wrong });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✘ hello-agent: .*GET \/v1\/agents \(list agents\) failed with HTTP 401/);
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expect(live()).toEqual([]);
  });

  it.each([
    ['no tag', 'ghcr.io/acme/hello-agent', /--image.*has no tag/],
    ['a digest', 'ghcr.io/acme/hello-agent@sha256:' + 'a'.repeat(64), /pins a digest/],
    ['upper case', 'ghcr.io/Acme/hello-agent:1', /is not an image name/],
    ['an unknown placeholder', 'ghcr.io/acme/{agent}:{sha}', /unknown placeholder \{sha\}/],
  ])('an image with %s is bad input (exit 2) and sends nothing', async (_what, image, message) => {
    const run = await cli(['deploy', '-m', HELLO_AGENT, '--pr', '17', '--image', image]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(server.requests).toEqual([]);
  });

  it('--image on a platform that builds is bad input (exit 2) and reaches no server', async () => {
    const nullspace = await startNullspaceServer({ apiKey: 'ns-unused-key-1234', stepMs: 30 });
    try {
      const onAgentex = await runCli(['--platform', 'agentex', 'deploy', '-m', HELLO_AGENT, '--pr', '18', '--image', 'ghcr.io/acme/hello-agent:1'], {
        env: { SGP_API_KEY: 'sk-unused-1234567', SGP_CLIENT_BASE_URL: server.url, SGP_ACCOUNT_ID: 'acct' },
      });
      expect(onAgentex.code).toBe(2);
      expect(onAgentex.stderr).toContain('agentex builds the image from the agent');
      const onNullspace = await runCli(['--platform', 'nullspace', 'deploy', '-m', HELLO_AGENT, '--pr', '18', '--image', 'ghcr.io/acme/hello-agent:1'], {
        env: { NULLSPACE_API_KEY: 'ns-unused-key-1234', NULLSPACE_API_URL: nullspace.url },
      });
      expect(onNullspace.code).toBe(2);
      expect(onNullspace.stderr).toContain('nullspace builds the image from the agent');
      expect(nullspace.requests).toEqual([]);
      expect(server.requests).toEqual([]);
    } finally {
      await nullspace.close();
    }
  });

  it('a missing API URL names the variable (exit 2) and sends nothing', async () => {
    const run = await runCli(['--platform', 'mutx', 'deploy', '-m', HELLO_AGENT, '--pr', '19', '--image', IMAGE], { env: { MUTX_API_KEY: KEY } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no MUTX API URL: set MUTX_API_URL');
    expect(server.requests).toEqual([]);
  });

  it("the sweep keeps a {branch} preview while its branch exists, reading the label by MUTX's own rule (longer than Agentex's 30 characters)", async () => {
    const token = 'ghp_mutxSweepToken0123456789abc';
    const forge = await startTestForge({ flavor: 'github', token });
    try {
      const branch = 'feature/teach-the-agent-to-answer-in-french';
      forge.seedRepo('acme', 'agents', { branches: [branch] });
      const repo = `${new URL(forge.url).host}/acme/agents`;
      // The label the action gives this branch's preview on MUTX.
      const label = resolvePreviewLabel('{branch}', { branch }, 'preview-label', labelRuleFor('mutx'), parseSourceRepo(repo)).label;
      expect(label.length).toBeGreaterThan(30);
      const mutx = new MutxPlatform({ baseUrl: server.url, apiKey: KEY, env: {} });
      const preview = await mutx.createDeployment({
        agentName: 'hello-agent',
        manifestText: await readFile(path.join(HELLO_AGENT, 'manifest.yaml'), 'utf8'),
        environmentText: '',
        image: { name: 'ghcr.io/acme/hello-agent', tag: '1a2b3c4' },
        preview: { label, expiresAt: new Date(Date.now() + 3_600_000) },
        sourceRepo: repo,
      });
      const sweepEnv = { GITHUB_TOKEN: token, GITHUB_API_URL: forge.apiUrl, GITHUB_SERVER_URL: forge.url, AGENT_PREVIEW_WRITE_SPACING: '0' };
      const sweep = () => cli(['--json', 'sweep', '--delete', '--label-template', '{branch}'], sweepEnv);

      const whileBranchLives = await sweep();
      expect(`${whileBranchLives.code} ${whileBranchLives.stderr}`).toMatch(/^0 /);
      const kept = JSON.parse(whileBranchLives.stdout);
      expect(kept.deleted).toEqual([]);
      expect(kept.kept).toEqual([expect.objectContaining({ deploymentId: preview.id, label, reason: 'its branch still exists' })]);
      expect(live()).toHaveLength(1);

      forge.deleteBranch('acme', 'agents', branch);
      const afterBranchGone = await sweep();
      expect(afterBranchGone.code).toBe(0);
      expect(JSON.parse(afterBranchGone.stdout).deleted).toEqual([expect.objectContaining({ deploymentId: preview.id, label })]);
      expect(live()).toEqual([]);
    } finally {
      await forge.close();
    }
  });
});
