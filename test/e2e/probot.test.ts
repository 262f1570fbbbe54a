import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Probot } from 'probot';
import pino from 'pino';
import agentPreviewApp from '../../src/app/probot.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { githubAppKeys, PreviewSeeder } from '../integration/app/fixtures.js';
import { REPO_ROOT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { freePort } from '../support/ports.js';
import { pullRequestEvent } from '../support/runner.js';

const API_KEY = 'sk-probot-e2e-Jq72LmZ0pW3x';
const TOKEN = 'ghs_probotE2eToken0123456789abcdefAB';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';
const SOURCE_REPO = 'github.com/codertocat/hello-world';
const ENTRY = path.join(REPO_ROOT, 'dist', 'app', 'probot.js');
const PROBOT_CLI = path.join(REPO_ROOT, 'node_modules', 'probot', 'bin', 'probot.js');

let local: LocalPlatform;
let forge: TestForge;
let seeder: PreviewSeeder;
let dir: string;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 10, deployStepMs: 10 });
  forge = await startTestForge({ flavor: 'github', token: TOKEN });
  forge.seedRepo(OWNER, REPO, { defaultBranch: 'main' });
  forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'a'.repeat(40), headRef: 'changes', baseRef: 'main' });
  seeder = new PreviewSeeder(local, API_KEY);
  dir = await mkdtemp(path.join(tmpdir(), 'ap-probot-'));
});

afterEach(async () => {
  await Promise.all([local.close(), forge.close(), rm(dir, { recursive: true, force: true })]);
});

const platformEnv = () => ({ AGENT_PREVIEW_PLATFORM: 'local', AGENT_PREVIEW_LOCAL_URL: local.url, AGENT_PREVIEW_LOCAL_KEY: API_KEY });

describe('dist/app/probot.js under the probot CLI', () => {
  it('probot receive -e pull_request -p payload.json deletes the closed pull request’s preview before it exits', async () => {
    const preview = await seeder.preview(SOURCE_REPO, 'pr-2');
    const other = await seeder.preview('github.com/someone/else', 'pr-2');
    forge.closePullRequest(OWNER, REPO, 2, { merged: true });
    const payloadPath = path.join(dir, 'payload.json');
    await writeFile(payloadPath, JSON.stringify(pullRequestEvent('closed', 'a'.repeat(40), { number: 2 })));

    const run = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [PROBOT_CLI, 'receive', '-e', 'pull_request', '-p', payloadPath, '-t', TOKEN, '--base-url', forge.apiUrl, '--log-format', 'json', ENTRY],
        { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...platformEnv() }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(run.output).not.toMatch(/"level":50/);
    expect(run.code).toBe(0);
    expect(await seeder.status(preview.id)).toBe('DELETED');
    expect(await seeder.status(other.id)).toBe('HEALTHY');
    expect(run.output).toContain('pr-2');
    expect(run.output).not.toContain(API_KEY);
    expect(run.output).not.toContain(TOKEN);
  });
});

describe('the default export in a Probot-style test', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('receive() resolves only once the teardown it queued has finished', async () => {
    Object.assign(process.env, platformEnv());
    const preview = await seeder.preview(SOURCE_REPO, 'pr-2');
    forge.closePullRequest(OWNER, REPO, 2, { merged: false });
    const probot = new Probot({ githubToken: TOKEN, baseUrl: forge.apiUrl, log: pino({ level: 'silent' }) });
    await probot.load(agentPreviewApp);
    await probot.receive({ id: 'delivery-1', name: 'pull_request', payload: pullRequestEvent('closed', 'a'.repeat(40), { number: 2 }) as never });
    expect(await seeder.status(preview.id)).toBe('DELETED');
  });

  it('refuses to load without the platform’s key, naming the variable', async () => {
    process.env.AGENT_PREVIEW_PLATFORM = 'agentex';
    delete process.env.SGP_API_KEY;
    const probot = new Probot({ githubToken: TOKEN, baseUrl: forge.apiUrl, log: pino({ level: 'silent' }) });
    await expect(probot.load(agentPreviewApp)).rejects.toThrow(/SGP_API_KEY/);
  });
});

describe('probot run dist/app/probot.js', () => {
  async function probotRun(env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void>; output: () => string }> {
    const { spawn } = await import('node:child_process');
    const port = await freePort();
    const child = spawn(process.execPath, [PROBOT_CLI, 'run', ENTRY], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', NO_SMEE_SETUP: 'true', LOG_FORMAT: 'json', PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => {
        if (/Listening on/.test(output)) resolve();
      });
      void exited.then(() => reject(new Error(`probot run exited: ${output}`)));
    });
    return {
      url,
      output: () => output,
      stop: async () => {
        child.kill('SIGINT');
        await exited;
      },
    };
  }

  it('without APP_ID serves the setup page with the app.yml manifest (Probot’s manifest flow)', async () => {
    const server = await probotRun({});
    try {
      const page = await fetch(`${server.url}/probot`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('agent-preview');
      expect(html).toMatch(/default_events[^\]]*pull_request[^\]]*delete/);
    } finally {
      await server.stop();
    }
  });

  it('as a GitHub App answers /healthz beside the webhook route', async () => {
    const server = await probotRun({
      ...platformEnv(),
      APP_ID: '12345',
      PRIVATE_KEY: githubAppKeys().privateKey,
      WEBHOOK_SECRET: 'probot-run-secret-0123456789',
    });
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const unsigned = await fetch(`${server.url}/api/github/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': 'x' },
        body: '{}',
      });
      expect(unsigned.status).toBeGreaterThanOrEqual(400);
    } finally {
      await server.stop();
    }
  });
});
