import { mkdir, symlink, truncate, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { copyHelloAgent, editFile, removeAgentCopies } from '../../support/agents.js';
import { allOutput, runCli } from '../../support/io.js';

const API_KEY = 'sk-badinput-Rr55TyUi0q';

let local: LocalPlatform;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20 });
  env = { SGP_API_KEY: API_KEY, SGP_CLIENT_BASE_URL: local.url };
});

afterAll(async () => {
  await local.close();
  await removeAgentCopies();
  expect(allOutput.filter((text) => text.includes(API_KEY))).toEqual([]);
  clearSecrets();
});

/** Runs `deploy --pr 1` on a broken copy of hello-agent and checks nothing reached the platform. */
async function deployBroken(breakIt: (dir: string) => Promise<void>, extra: string[] = []) {
  const dir = await copyHelloAgent();
  await breakIt(dir);
  const before = local.requests.length;
  const run = await runCli(['deploy', '-m', dir, '--pr', '1', ...extra], { env });
  expect(local.requests.length).toBe(before);
  expect(run.code).toBe(2);
  return { dir, message: run.stderr };
}

describe('bad input fails with file, line and field, before any request', () => {
  it('malformed YAML names the line', async () => {
    const { dir, message } = await deployBroken((d) => editFile(path.join(d, 'manifest.yaml'), (text) => `${text}\n  broken: [unclosed\n`));
    expect(message).toContain(path.join(dir, 'manifest.yaml'));
    expect(message).toMatch(/manifest\.yaml:\d+/);
  });

  it('a manifest without agent.name', async () => {
    const { message } = await deployBroken((d) => editFile(path.join(d, 'manifest.yaml'), (text) => text.replace(/^(\s+)name: hello-agent\s*$/m, '$1description_only: true')));
    expect(message).toMatch(/manifest\.yaml:\d+.*agent\.name/);
  });

  it('an agent name outside ^[a-z0-9-]+$', async () => {
    const { message } = await deployBroken((d) => editFile(path.join(d, 'manifest.yaml'), (text) => text.replace(/name: hello-agent/, 'name: Hello_Agent')));
    expect(message).toMatch(/manifest\.yaml:\d+.*agent\.name/);
    expect(message).toContain('Hello_Agent');
  });

  it('a missing Dockerfile', async () => {
    const { message } = await deployBroken((d) => rm(path.join(d, 'Dockerfile')));
    expect(message).toMatch(/Dockerfile/);
    expect(message).toMatch(/manifest\.yaml:\d+/);
  });

  it('a symlink escaping the context', async () => {
    const { message } = await deployBroken((d) => symlink('/etc/passwd', path.join(d, 'project', 'escape')));
    expect(message).toMatch(/project\/escape/);
    expect(message).toMatch(/outside/);
  });

  it('a context over 500 MB names the largest paths', async () => {
    const { message } = await deployBroken(async (d) => {
      await mkdir(path.join(d, 'project', 'weights'), { recursive: true });
      const blob = path.join(d, 'project', 'weights', 'model.bin');
      await writeFile(blob, '');
      await truncate(blob, 600 * 1024 * 1024); // sparse: no disk used
    });
    expect(message).toMatch(/500/);
    expect(message).toContain('project/weights/model.bin');
  });

  it('an invalid ttl or timeout', async () => {
    expect((await deployBroken(async () => {}, ['--ttl', 'forever'])).message).toMatch(/field "--ttl".*not a duration/);
    expect((await deployBroken(async () => {}, ['--timeout', '-3m'])).message).toMatch(/field "--timeout"/);
  });

  it('a label that sanitizes to nothing', async () => {
    const dir = await copyHelloAgent();
    const before = local.requests.length;
    const run = await runCli(['deploy', '-m', dir, '--label', '!!!'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/field "--label".*sanitizes to an empty label/);
    expect(local.requests.length).toBe(before);
  });

  it('a bad environments.yaml', async () => {
    const { message } = await deployBroken((d) => editFile(path.join(d, 'environments.yaml'), () => 'environments: [1, 2\n'));
    expect(message).toMatch(/environments\.yaml:\d+/);
  });

  it('a missing API key says how to set one', async () => {
    const dir = await copyHelloAgent();
    const run = await runCli(['build', '-m', dir], { env: { SGP_CLIENT_BASE_URL: local.url } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SGP_API_KEY/);
  });
});
