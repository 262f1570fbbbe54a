import { once } from 'node:events';
import { execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalPlatform } from '../../src/local-platform/index.js';
import { HELLO_AGENT, REPO_ROOT } from '../support/agents.js';

const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');

function cli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // In a folder outside any checkout, so that no git remote names a repository.
    execFile(process.execPath, [...nodeArgs, CLI, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the committed CLI bundle', () => {
  it('npm start: the demo runs the whole flow and exits 0', async () => {
    const run = await cli(['demo']);
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/preview pr-1 \S+ is healthy at http:\/\/127\.0\.0\.1:\d+\/previews\//);
    expect(run.stdout).toMatch(/→ 200 "hello-agent preview"/);
    expect(run.stdout).toContain('(reused: context unchanged)');
    expect(run.stdout).toMatch(/→ 404 \(the preview is gone\)/);
    expect(run.stdout).toContain('hello-agent: passed, 2/2 turns');
    expect(run.stdout).toContain('‹ Hello, Ada! This reply comes from hello-agent.');
    expect(run.stdout).toContain('done: 1 build(s)');
    expect(run.stderr).toContain('hello-agent │ #1 [internal] load build definition from Dockerfile');
    // Nothing a demo user could act on: the demo has no repository to name.
    expect(run.stderr).not.toContain('no repository is known');
  });

  it('local-platform in one process serves deploy, status, faults and teardown from another', async () => {
    const server = spawn(process.execPath, [CLI, 'local-platform', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(server, 'exit');
    server.stderr!.resume();
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server.stdout! }).on('line', (line) => {
          const match = /listening on (\S+)/.exec(line);
          if (match) resolve(match[1]);
        });
        server.on('exit', (code) => reject(new Error(`local-platform exited ${code}`)));
      });
      const target = ['--platform', 'local', '--api-url', url];
      const fault = await fetch(`${url}/_local/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ route: 'deployments.get', status: 503, times: 2 }),
      });
      expect(fault.status).toBe(201);

      const deploy = await cli([...target, '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '3', '--poll-interval', '0.2s']);
      expect(deploy.code).toBe(0);
      const [result] = JSON.parse(deploy.stdout);
      expect(result).toMatchObject({ status: 'healthy', previewLabel: 'pr-3' });
      expect(deploy.stderr).toMatch(/get deployment.*503.*retrying/);

      const status = await cli([...target, 'status', '--pr', '3']);
      expect(status.stdout).toMatch(/^ID\s+AGENT\s+STATUS\s+LABEL/);
      expect(status.stdout).toContain(`${result.deploymentId}  hello-agent  HEALTHY`);

      const logs = await cli([...target, 'logs', result.deploymentId]);
      expect(logs.stdout).toContain('Application startup complete');

      const down = await cli([...target, 'teardown', '--pr', '3']);
      expect(down.stdout).toContain('previews of "pr-3": 1 deleted');
      expect((await fetch(result.url)).status).toBe(404);
    } finally {
      server.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code).toBe(0);
  });
});

// At V8's default budget the first response sent llhttp's parser to TurboFan: 200 ms of CPU in every command (src/http/parser-tiering.ts).
it("parses HTTP with V8's baseline code for undici's WebAssembly parser: a command does not recompile it with TurboFan", async () => {
  const local = await startLocalPlatform({ buildStepMs: 20, deployStepMs: 20 });
  try {
    const status = await cli(['--platform', 'local', '--api-url', local.url, 'status', '--pr', '5'], {}, ['--trace-wasm-compilation-times']);
    expect(status.code).toBe(0);
    expect(local.requests.length).toBeGreaterThan(0);
    expect(status.stdout).toMatch(/^Compiled function \S+ using Liftoff/m);
    expect(status.stdout.split('\n').filter((line) => /using TurboFan/.test(line))).toEqual([]);
  } finally {
    await local.close();
  }
});

/** Runs the bundle with its stdout a pipe whose reader is already gone (`agent-preview … | true`). */
async function intoClosedPipe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.destroy();
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('output into a closed pipe ends quietly, as a program killed by SIGPIPE (141)', () => {
  it('--help', async () => {
    expect(await intoClosedPipe(['--help'])).toEqual({ code: 141, stderr: '' });
  });

  it('logs <id> | head -1', async () => {
    const local = await startLocalPlatform({ buildStepMs: 20, deployStepMs: 20 });
    try {
      const target = ['--platform', 'local', '--api-url', local.url];
      const deploy = await cli([...target, '--json', 'deploy', '-m', HELLO_AGENT, '--pr', '4', '--poll-interval', '0.1s']);
      expect(deploy.code).toBe(0);
      const [{ deploymentId }] = JSON.parse(deploy.stdout) as { deploymentId: string }[];
      expect((await cli([...target, 'logs', deploymentId])).stdout).toContain('Application startup complete');
      expect(await intoClosedPipe([...target, 'logs', deploymentId])).toEqual({ code: 141, stderr: '' });
    } finally {
      await local.close();
    }
  });
});

it("local-platform stops on SIGINT saying only what it did (no word of the client's builds)", async () => {
  const server = spawn(process.execPath, [CLI, 'local-platform', '--port', '0'], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  server.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const listening = new Promise<void>((resolve) => {
    server.stdout!.on('data', (chunk) => {
      stdout += String(chunk);
      if (stdout.includes('listening on')) resolve();
    });
  });
  const exited = once(server, 'exit');
  await listening;
  server.kill('SIGINT');
  const [code] = await exited;
  expect(code).toBe(0);
  expect(stdout).toMatch(/local platform stopped\n$/);
  expect(stderr).toBe('\nSIGINT: stopping (press again to quit at once)\n');
});
