import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startLocalPlatform } from '../../../src/local-platform/index.js';
import { copyHelloAgent, editFile, REPO_ROOT } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';
import { freePort } from '../../support/ports.js';

// Issue 15, "CLI papercuts a new user hit": each test failed on the code before its fix.
const API_KEY = 'sk-papercuts-Pw7Rt2Kd9';
const platform = useLocalPlatform(API_KEY);
const fast = ['--poll-interval', '0.1s', '--timeout', '60s'];

describe('logs --build says what failed and exits non-zero', () => {
  it('for an id the platform does not know', async () => {
    const run = await runCli(['logs', '--build', 'bld_nope'], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*bld_nope.*HTTP 404/m);
  });

  it('for an unreachable platform', async () => {
    const env = { ...platform.env, SGP_CLIENT_BASE_URL: `http://127.0.0.1:${await freePort()}`, AGENT_PREVIEW_RETRY_DELAY: '1ms' };
    const run = await runCli(['logs', '--build', 'bld_1'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*get build.*ECONNREFUSED/m);
  });
});

it('local-platform on a busy port says so in one line', async () => {
  const busy = await startLocalPlatform();
  try {
    const run = await runCli(['local-platform', '--port', String(busy.port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: 127.0.0.1:${busy.port} is already in use; stop what listens there or choose another --port\n`);
  } finally {
    await busy.close();
  }
});

it('--version prints the package version', async () => {
  const { version } = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const run = await runCli(['--version']);
  expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
});

it("a subcommand's --help lists the global options", async () => {
  const run = await runCli(['deploy', '--help']);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/Global Options:[\s\S]*--platform <name>[\s\S]*--json/);
});

it('status without a filter lists the live previews; --all adds the deleted ones', async () => {
  const agent = await copyHelloAgent();
  for (const pr of ['1', '2']) expect((await runCli(['deploy', '-m', agent, '--pr', pr, ...fast], { env: platform.env })).code).toBe(0);
  expect((await runCli(['teardown', '--pr', '1'], { env: platform.env })).code).toBe(0);

  const live = await runCli(['--json', 'status'], { env: platform.env });
  expect(live.code).toBe(0);
  expect((JSON.parse(live.stdout) as { previewLabel: string; phase: string }[]).map((d) => [d.previewLabel, d.phase])).toEqual([['pr-2', 'healthy']]);
  const all = await runCli(['--json', 'status', '--all'], { env: platform.env });
  expect((JSON.parse(all.stdout) as { previewLabel: string; phase: string }[]).map((d) => [d.previewLabel, d.phase])).toEqual([
    ['pr-2', 'healthy'],
    ['pr-1', 'deleted'],
  ]);
  expect((await runCli(['status'], { env: platform.env })).stdout).toMatch(/^ID\s+AGENT\s+STATUS\s+LABEL[^\n]*\n\S+\s+hello-agent\s+HEALTHY\s+pr-2\s/);
});

describe('a failed build', () => {
  const broken = async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\n# local-platform: fail-build\n`);
    return agent;
  };

  it('names the agent once and does not reprint the build log it streamed', async () => {
    const run = await runCli(['deploy', '-m', await broken(), '--pr', '8', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✘ hello-agent: build failed: build \S+ ended FAILED \(build log above\)$/m);
    expect(run.stderr).toContain('ERROR: failed to solve');
    expect(run.stdout).not.toContain('ERROR: failed to solve');
  });

  it('with --quiet, which hid the log, shows its tail', async () => {
    const run = await runCli(['--quiet', 'deploy', '-m', await broken(), '--pr', '8', ...fast], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('ERROR: failed to solve');
    expect(run.stdout).toMatch(/^ {4}ERROR: failed to solve/m);
  });
});

it('upload progress: each percentage is that of the byte counts beside it, of the size announced', async () => {
  const agent = await copyHelloAgent();
  // Enough bytes for several chunks, incompressible so the archive stays large.
  const { randomBytes } = await import('node:crypto');
  await import('node:fs/promises').then((fs) => fs.writeFile(path.join(agent, 'project', 'blob.bin'), randomBytes(1_500_000)));
  const run = await runCli(['build', '-m', agent, ...fast], { env: platform.env });
  expect(run.code).toBe(0);
  const announced = /uploading the build context \(([\d.]+ [KM]?B),/.exec(run.stderr)?.[1];
  const lines = [...run.stderr.matchAll(/upload (\d+)% \(([\d.]+) ([KM]?B) of ([\d.]+ [KM]?B)\)/g)];
  expect(lines.length).toBeGreaterThan(1);
  const unit = { B: 1, KB: 1024, MB: 1024 * 1024 } as Record<string, number>;
  const totalOf = (text: string) => Number(text.split(' ')[0]) * unit[text.split(' ')[1]];
  for (const [, percent, sent, sentUnit, total] of lines) {
    expect(total).toBe(announced);
    // Within the rounding of the byte counts shown (two decimals) and of the floored percentage.
    expect(Math.abs(Number(percent) - (Number(sent) * unit[sentUnit] * 100) / totalOf(total))).toBeLessThan(1.5);
  }
  expect(lines.at(-1)?.[1]).toBe('100');
});

describe('--pr takes only a pull request number', () => {
  it.each([[['deploy', '-m', 'x', '--pr', 'abc']], [['deploy', '-m', 'x', '--pr', '0']], [['teardown', '--pr', '1x']], [['status', '--pr', '-3']]])(
    '%p is refused before any request',
    async (argv) => {
      const before = platform.local.requests.length;
      const run = await runCli(argv, { env: platform.env });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/is not a pull request number.*--pr|--pr.*is not a pull request number/);
      expect(platform.local.requests.length).toBe(before);
    },
  );
});

describe('--json errors are JSON on stdout', () => {
  it.each([
    ['bad input', ['--json', 'deploy', '-m', 'x', '--pr', 'abc'], 2, { field: '--pr' }],
    ['a usage error', ['--json', 'deploy', '--no-such-flag'], 2, {}],
    ['a platform error', ['--json', 'status', '--id', 'dep_nope'], 1, {}],
  ])('%s', async (_name, argv, code, fields) => {
    const run = await runCli(argv as string[], { env: platform.env });
    expect(run.code).toBe(code);
    expect(run.stderr).toBe('');
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ exitCode: code, ...fields });
    expect(error.message).toEqual(expect.any(String));
  });
});
