import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { HELLO_AGENT, REPO_ROOT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { selfSignedCertificate, startLoggingProxy, type LoggingProxy } from '../support/proxy.js';
import { pullRequestEvent, runActionBundle } from '../support/runner.js';

const API_KEY = 'sk-proxy-Wq71LmZ0pV3xYb2R';
const TOKEN = 'ghs_proxyToken0123456789abcdefABCD';
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');

let local: LocalPlatform;
let forge: TestForge;
let proxy: LoggingProxy;
let workspace: string;
const certificate = selfSignedCertificate();

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 20 });
  // The forge over HTTPS, so its calls tunnel (CONNECT); the local platform over plain HTTP, so its calls go in absolute form.
  forge = await startTestForge({ flavor: 'github', token: TOKEN, tls: certificate });
  forge.seedRepo('Codertocat', 'Hello-World');
  forge.seedPullRequest('Codertocat', 'Hello-World', { number: 2, headSha: 'a'.repeat(40), headRef: 'changes' });
  proxy = await startLoggingProxy();
  workspace = await mkdtemp(path.join(tmpdir(), 'ap-proxy-'));
  await cp(HELLO_AGENT, path.join(workspace, 'agents', 'hello'), { recursive: true });
});

afterEach(async () => {
  await Promise.all([local.close(), forge.close(), proxy.close()]);
  await rm(workspace, { recursive: true, force: true });
});

function runAction(env: NodeJS.ProcessEnv) {
  return runActionBundle(
    { forge, platformUrl: local.url, apiKey: API_KEY, token: TOKEN, repository: 'Codertocat/Hello-World', workspace, captured: [] },
    pullRequestEvent('opened', 'a'.repeat(40)),
    {},
    { NODE_EXTRA_CA_CERTS: certificate.file, ...env },
  );
}

const hostOf = (url: string) => new URL(url).host;

describe('behind a forward proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)', () => {
  it('the action sends its forge calls (CONNECT) and its platform calls (absolute form) through the proxy', async () => {
    const run = await runAction({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
    expect(run.log).not.toMatch(/::error::/);
    expect(run.code).toBe(0);
    expect(forge.comments('Codertocat', 'Hello-World', 2)).toHaveLength(1);
    expect(proxy.log.filter((entry) => entry.form === 'connect').map((entry) => entry.target)).toContain(hostOf(forge.url));
    const platformCalls = proxy.log.filter((entry) => entry.form === 'absolute' && hostOf(entry.target) === hostOf(local.url));
    expect(platformCalls.map((entry) => entry.method)).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(platformCalls.length).toBe(local.requests.length);
  });

  it('the lower-case variables count too, and NO_PROXY covering the hosts bypasses the proxy', async () => {
    const run = await runAction({ https_proxy: proxy.url, http_proxy: proxy.url, no_proxy: '127.0.0.1' });
    expect(run.code).toBe(0);
    expect(forge.comments('Codertocat', 'Hello-World', 2)).toHaveLength(1);
    expect(proxy.log).toEqual([]);
  });

  it('the CLI sends its platform calls through the proxy', async () => {
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          CLI,
          '--platform',
          'local',
          '--api-url',
          local.url,
          '--json',
          'deploy',
          '-m',
          path.join(workspace, 'agents', 'hello', 'manifest.yaml'),
          '--pr',
          '3',
          '--poll-interval',
          '0.2s',
        ],
        { env: { PATH: process.env.PATH, HTTP_PROXY: proxy.url, AGENT_PREVIEW_LOCAL_KEY: API_KEY }, timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    expect(proxy.log.length).toBeGreaterThan(0);
    expect(proxy.log.every((entry) => entry.form === 'absolute' && hostOf(entry.target) === hostOf(local.url))).toBe(true);
  });
});
