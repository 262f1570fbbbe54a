import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list } from 'tar';
import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { sourceRepoOfRun } from '../../../src/pipeline/source-repo.js';
import { labelRuleFor } from '../../../src/platforms/index.js';
import { copyHelloAgent, editFile } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';
import { freePort } from '../../support/ports.js';

// Issue 27, "A new user's first hour": each test failed on the code before its fix.
const API_KEY = 'sk-first-hour-Vb8Nq2Lw5';
const platform = useLocalPlatform(API_KEY);
const fast = ['--poll-interval', '0.1s', '--timeout', '60s'];
const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A git checkout whose origin is `remote`. */
async function checkout(remote: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-checkout-'));
  made.push(dir);
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'remote', 'add', 'origin', remote]);
  return dir;
}

interface Listed {
  id: string;
  previewLabel?: string;
  phase: string;
}

async function members(archive: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file: archive, onReadEntry: (entry) => names.push(entry.path) });
  return names;
}

describe('pack never packs its own output', () => {
  it('with include_paths [.] and the archive in the agent folder, every pack succeeds with the same hash', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'manifest.yaml'), (text) => text.replace('      - project\n', '      - .\n'));
    const output = path.join(agent, 'context.tar.gz');
    const hashes: string[] = [];
    for (let run = 0; run < 3; run++) {
      const packed = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
      expect(packed.code).toBe(0);
      hashes.push((JSON.parse(packed.stdout) as { workingTreeHash: string }).workingTreeHash);
    }
    expect(new Set(hashes).size).toBe(1);
    expect(await members(output)).not.toContain('context.tar.gz');
  });

  it('with -o inside an include path, the next archive does not hold the previous one', async () => {
    const agent = await copyHelloAgent();
    const output = path.join(agent, 'project', 'out', 'agent.tgz');
    await mkdir(path.dirname(output));
    const first = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
    const second = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(JSON.parse(second.stdout).workingTreeHash).toBe(JSON.parse(first.stdout).workingTreeHash);
    expect(await members(output)).not.toContain('project/out/agent.tgz');
    expect(second.stderr).toMatch(/project\/out\/agent\.tgz lies inside the build context; it is left out of the archive/);
  });
});

describe('file-system errors are one line, exit 2, naming the path', () => {
  it('pack -o into a folder that does not exist', async () => {
    const agent = await copyHelloAgent();
    const run = await runCli(['pack', '-m', agent, '-o', '/no/such/dir/x.tgz'], { env: {} });
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'error: cannot write /no/such/dir/x.tgz: the folder /no/such/dir does not exist\n' });
  });

  it('pack -o onto a folder', async () => {
    const agent = await copyHelloAgent();
    const run = await runCli(['pack', '-m', agent, '-o', agent], { env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: cannot write ${agent}: it is a folder\n`);
  });

  it('any other file-system error, e.g. a name too long for the file system', async () => {
    const agent = await copyHelloAgent();
    const output = path.join(agent, `${'x'.repeat(300)}.tgz`);
    const run = await runCli(['pack', '-m', agent, '-o', output], { env: {} });
    expect(run).toEqual({ code: 2, stdout: '', stderr: `error: cannot stat ${output}: name too long\n` });
  });
});

describe('--pr finds the previews the action made', () => {
  // What the action labels PR 2 of github.com/Acme/Agents: the repository from its event's html_url (src/action/main.ts).
  const actionLabel = resolvePreviewLabel(
    undefined,
    { number: 2 },
    'preview-label',
    labelRuleFor('agentex'),
    sourceRepoOfRun('https://github.com/Acme/Agents', 'https://github.com', 'Acme', 'Agents'),
  ).label;

  /** A preview of PR 2 deployed for github.com/acme/agents, as the action deploys it. */
  async function actionPreview(): Promise<Listed> {
    const agent = await copyHelloAgent();
    const run = await runCli(['--json', 'deploy', '-m', agent, '--pr', '2', '--repo', 'github.com/acme/agents', ...fast], { env: platform.env });
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout) as { deploymentId: string; previewLabel: string }[];
    expect(result.previewLabel).toBe(actionLabel);
    return { id: result.deploymentId, previewLabel: result.previewLabel, phase: 'healthy' };
  }

  it('status --pr N in a checkout (origin in any form) finds it', async () => {
    const preview = await actionPreview();
    expect(actionLabel).toMatch(/^pr-2-[0-9a-f]{6,}$/);
    for (const remote of ['git@github.com:Acme/Agents.git', 'https://github.com/acme/agents', 'ssh://git@github.com/Acme/Agents.git']) {
      const run = await runCli(['--json', 'status', '--pr', '2'], { env: platform.env, cwd: await checkout(remote) });
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as Listed[]).map((d) => [d.id, d.previewLabel, d.phase])).toEqual([[preview.id, actionLabel, 'healthy']]);
      expect(run.stderr).toContain("repository github.com/acme/agents (the checkout's git remote origin");
    }
  });

  it("in a checkout's subfolder and in a bare repository (git looks for them before the CLI asks it), the repository is still origin's", async () => {
    const preview = await actionPreview();
    const subfolder = path.join(await checkout('git@github.com:acme/agents.git'), 'agents', 'hello');
    await mkdir(subfolder, { recursive: true });
    const bare = await mkdtemp(path.join(tmpdir(), 'ap-bare-'));
    made.push(bare);
    execFileSync('git', ['init', '-q', '--bare', bare]);
    execFileSync('git', ['-C', bare, 'remote', 'add', 'origin', 'https://github.com/acme/agents']);
    for (const cwd of [subfolder, bare]) {
      const run = await runCli(['--json', 'status', '--pr', '2'], { env: platform.env, cwd });
      expect((JSON.parse(run.stdout) as Listed[]).map((d) => d.id)).toEqual([preview.id]);
      expect(run.stderr).toContain("repository github.com/acme/agents (the checkout's git remote origin");
    }
  });

  it('status takes --repo; outside a checkout a plain --pr that finds nothing names the hashed labels and what to do', async () => {
    const preview = await actionPreview();
    const given = await runCli(['--json', 'status', '--pr', '2', '--repo', 'github.com/Acme/Agents'], { env: platform.env });
    expect((JSON.parse(given.stdout) as Listed[]).map((d) => d.id)).toEqual([preview.id]);

    const plain = await runCli(['status', '--pr', '2'], { env: platform.env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe('no deployments found\n');
    expect(plain.stderr).toContain(`previews of PR 2 carry a repository's hash: ${actionLabel}`);
    expect(plain.stderr).toMatch(/no repository is known here.*pass --repo host\/owner\/repo/);
  });

  it("teardown --pr N outside a checkout deletes nothing and fails, saying why; in the checkout it deletes the action's preview", async () => {
    const preview = await actionPreview();
    const outside = await runCli(['teardown', '--pr', '2'], { env: platform.env });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(new RegExp(`^error: nothing was deleted: .*${actionLabel}.*pass --repo`, 'm'));
    expect(platform.local.deployments().find((d) => d.id === preview.id)?.status).toBe('HEALTHY');

    const inside = await runCli(['teardown', '--pr', '2'], { env: platform.env, cwd: await checkout('git@github.com:acme/agents.git') });
    expect(inside.code).toBe(0);
    expect(inside.stdout).toBe(`previews of "${actionLabel}": 1 deleted, 0 already gone\n`);
  });

  it("chat --pr N and smoke --pr N in a checkout talk to the action's preview, as status finds it", async () => {
    const preview = await actionPreview();
    const cwd = await checkout('git@github.com:acme/agents.git');
    // The local platform serves the Agentex server's routes too.
    const env = { ...platform.env, AGENTEX_BASE_URL: platform.local.url };
    const chat = await runCli(['chat', '--pr', '2'], { env, cwd, stdin: 'Hello\n' });
    expect(chat.stderr).toContain("repository github.com/acme/agents (the checkout's git remote origin");
    expect(chat.stderr).toContain(`preview ${preview.id}`);
    expect(chat.stdout).toContain('Hello, Hello! This reply comes from hello-agent.');
    expect(chat.code).toBe(0);

    const smoke = await runCli(['smoke', '--pr', '2', '-m', await copyHelloAgent()], { env, cwd });
    expect(smoke.stdout).toContain('smoke: passed');
    expect(smoke.code).toBe(0);
  });

  it('deploy --pr N in a checkout labels and records the preview as the action would; elsewhere it says to pass --repo', async () => {
    const agent = await copyHelloAgent();
    const inside = await runCli(['--json', 'deploy', '-m', agent, '--pr', '2', ...fast], { env: platform.env, cwd: await checkout('https://github.com/Acme/Agents.git') });
    expect(inside.code).toBe(0);
    expect(JSON.parse(inside.stdout)[0].previewLabel).toBe(actionLabel);
    expect(inside.stderr).not.toContain('no repository is known');
    expect(platform.local.builds().map((build) => build.source_repo)).toEqual(['github.com/acme/agents']);

    const outside = await runCli(['--json', 'deploy', '-m', agent, '--pr', '3', ...fast], { env: platform.env });
    expect(outside.code).toBe(0);
    expect(JSON.parse(outside.stdout)[0].previewLabel).toBe('pr-3');
    expect(outside.stderr).toMatch(/no repository is known to tell whose preview this is; pass --repo host\/owner\/repo/);
  });

  it('a literal --label is taken as written in a checkout, and --pr with a --label that does not use it is refused', async () => {
    const agent = await copyHelloAgent();
    const cwd = await checkout('git@github.com:acme/agents.git');
    const deployed = await runCli(['--json', 'deploy', '-m', agent, '--label', 'demo-x', ...fast], { env: platform.env, cwd });
    expect(JSON.parse(deployed.stdout)[0].previewLabel).toBe('demo-x');
    expect((await runCli(['teardown', '--label', 'demo-x'], { env: platform.env, cwd })).stdout).toBe('previews of "demo-x": 1 deleted, 0 already gone\n');

    const sent = platform.local.requests.length;
    const both = await runCli(['deploy', '-m', agent, '--pr', '1', '--label', 'x'], { env: platform.env });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--pr 1 would not be used: --label "x" has no \{number\}/);
    expect(platform.local.requests.length).toBe(sent);
  });
});

it("build reuse looks past a newer build of the same tree recorded for another repository, and reuses this repository's", async () => {
  const agent = await copyHelloAgent();
  const build = (repo: string) => runCli(['--json', 'build', '-m', agent, '--repo', repo, ...fast], { env: platform.env });
  const ours = JSON.parse((await build('github.com/acme/agents')).stdout)[0];
  const theirs = JSON.parse((await build('github.com/other/agents')).stdout)[0];
  expect([ours.buildReused, theirs.buildReused, theirs.buildId === ours.buildId]).toEqual([false, false, false]);

  const again = await build('github.com/acme/agents');
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)[0]).toMatchObject({ buildId: ours.buildId, buildReused: true });
  expect(platform.local.builds().map((record) => record.source_repo)).toEqual(['github.com/acme/agents', 'github.com/other/agents']);
});

describe('papercuts that cost a user time', () => {
  it('--platform local with nothing listening says to start it, at once and without retrying', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const hint = `nothing listens at ${url} (--platform local): start the local platform with \`agent-preview local-platform\` in another terminal, or point --api-url at one`;
    const status = await runCli(['--platform', 'local', '--api-url', url, 'status'], { env: {} });
    expect(status).toEqual({ code: 1, stdout: '', stderr: `error: ${hint}\n` });
    const deploy = await runCli(['--platform', 'local', '--api-url', url, 'deploy', '-m', await copyHelloAgent(), '--pr', '1'], { env: {} });
    expect(deploy.code).toBe(1);
    expect(deploy.stdout).toBe(`✘ hello-agent: ${hint}\n`);
    expect(deploy.stderr).not.toMatch(/retrying|ECONNREFUSED/);
  });

  it('deploy --no-wait names the older preview of the label it leaves running', async () => {
    const agent = await copyHelloAgent();
    const first = await runCli(['--json', 'deploy', '-m', agent, '--pr', '5', ...fast], { env: platform.env });
    const [{ deploymentId: older }] = JSON.parse(first.stdout) as { deploymentId: string }[];
    const quick = await runCli(['--json', 'deploy', '-m', agent, '--pr', '5', '--no-wait', ...fast], { env: platform.env });
    expect(quick.code).toBe(0);
    const [{ deploymentId: created }] = JSON.parse(quick.stdout) as { deploymentId: string }[];
    expect(quick.stderr).toContain(`hello-agent: 1 older preview(s) of "pr-5" still run beside ${created}: ${older}. --no-wait does not wait`);
  });

  it('a preview whose deployment crashes is deleted, said once, and gone from the live status list', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: crash\n`);
    const run = await runCli(['deploy', '-m', agent, '--pr', '6', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    const [id] = /dep_\w+/.exec(run.stdout) ?? [];
    expect(run.stdout).toMatch(new RegExp(`^✘ hello-agent: deploy failed: deployment ${id} ended FAILED; preview deployment ${id} was deleted$`, 'm'));
    expect(run.stderr).not.toMatch(/warning: .*(deploy failed|deleted preview)/);
    expect((await runCli(['status'], { env: platform.env })).stdout).toBe('no live previews (--all also lists deleted ones)\n');
    expect(platform.local.deployments().map((deployment) => deployment.status)).toEqual(['DELETED']);
  });

  it('a failed build is reported once', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: fail-build\n`);
    const run = await runCli(['deploy', '-m', agent, '--pr', '7', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✘ hello-agent: build failed: build \S+ ended FAILED \(build log above\)$/m);
    expect(run.stderr).not.toContain('ended FAILED');
  });

  it('--ttl 0 is too short, as --timeout 300ms is', async () => {
    const agent = await copyHelloAgent();
    const ttl = await runCli(['deploy', '-m', agent, '--pr', '1', '--ttl', '0'], { env: platform.env });
    expect(ttl).toMatchObject({ code: 2, stderr: 'error: field "--ttl": "0" is too short; the least allowed is 1m\n' });
    const timeout = await runCli(['deploy', '-m', agent, '--pr', '1', '--timeout', '300ms'], { env: platform.env });
    expect(timeout).toMatchObject({ code: 2, stderr: 'error: field "--timeout": "300ms" is too short; the least allowed is 1s\n' });
  });

  it('build --help lists no deploy-only options; deploy --help does', async () => {
    const build = await runCli(['build', '--help']);
    expect(build.stdout).not.toMatch(/--redeploy|--image|--ttl|--no-wait|--preview-url/);
    const deploy = await runCli(['deploy', '--help']);
    expect(deploy.stdout).toMatch(/--image <name:tag>[\s\S]*--redeploy <auto\|always>/);
  });

  it("a usage error points at the subcommand's help", async () => {
    const run = await runCli(['deploy', '--bogus']);
    expect(run).toEqual({ code: 2, stdout: '', stderr: "error: unknown option '--bogus'\n(run agent-preview deploy --help for usage)\n" });
  });

  it("a missing API key says what the CLI takes, not the action's input", async () => {
    const run = await runCli(['status'], { env: {} });
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'error: field "--api-key": no agentex API key: set SGP_API_KEY (or pass --api-key, which shell history keeps)\n' });
  });

  it('an API key too short to be masked is warned about', async () => {
    const run = await runCli(['--api-key', 'short', 'status'], { env: { SGP_CLIENT_BASE_URL: platform.local.url, AGENT_PREVIEW_RETRY_DELAY: '5ms' } });
    expect(run.stderr).toMatch(/^warning: the agentex API key is shorter than 8 characters, too short to be masked in output$/m);
  });

  it("a quoted glob for -m is expanded, as the action's manifest input is", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'ap-glob-'));
    made.push(root);
    for (const name of ['alpha', 'beta']) {
      const agent = await copyHelloAgent();
      await editFile(path.join(agent, 'manifest.yaml'), (text) => text.replace('name: hello-agent', `name: ${name}-agent`));
      await cp(agent, path.join(root, 'agents', name), { recursive: true });
    }
    const run = await runCli(['--json', 'build', '-m', `${root}/agents/*/manifest.yaml`, ...fast], { env: platform.env });
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { agent: string; status: string }[]).map((result) => [result.agent, result.status])).toEqual([
      ['alpha-agent', 'built'],
      ['beta-agent', 'built'],
    ]);
  });
});
