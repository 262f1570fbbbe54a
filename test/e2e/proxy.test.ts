import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { HELLO_AGENT, REPO_ROOT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { selfSignedCertificate, startLoggingProxy, type LoggingProxy } from '../support/proxy.js';
import { pullRequestEvent, runActionBundle } from '../support/runner.js';
import { until } from '../support/wait.js';
import { APP_BUNDLE, giteaHeaders, giteaPullRequestClosed, post, PreviewSeeder } from '../integration/app/fixtures.js';
import { STICKY_MARKER } from '../../src/forge/comment.js';

const API_KEY = 'sk-proxy-Wq71LmZ0pV3xYb2R';
const TOKEN = 'ghs_proxyToken0123456789abcdefABCD';
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');
const GITEA_SECRET = 'whsec-proxy-gitea-5e0c7a19bd3f';

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

  it('the app asks the Gitea forge (CONNECT) and deletes on the platform (absolute form) through the proxy', async () => {
    const gitea = await startTestForge({ flavor: 'gitea', token: TOKEN, tls: certificate });
    gitea.seedRepo('gitea-org', 'agents');
    gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed' });
    gitea.seedComment('gitea-org', 'agents', 2, { body: `${STICKY_MARKER}\nready`, user: 'gitea-actions' });
    const preview = await new PreviewSeeder(local, API_KEY).preview(`${hostOf(gitea.url)}/gitea-org/agents`, 'pr-2');
    const app = spawn(process.execPath, [APP_BUNDLE], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: '0',
        GITEA_URL: gitea.url,
        GITEA_TOKEN: TOKEN,
        GITEA_WEBHOOK_SECRET: GITEA_SECRET,
        AGENT_PREVIEW_PLATFORM: 'local',
        AGENT_PREVIEW_LOCAL_URL: local.url,
        AGENT_PREVIEW_LOCAL_KEY: API_KEY,
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: proxy.url,
        NODE_EXTRA_CA_CERTS: certificate.file,
      },
    });
    // Both streams are read to the end: a pipe nobody drains keeps the app from exiting.
    let stderr = '';
    app.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(app, 'exit');
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: app.stdout! }).on('line', (line) => {
          const match = /listening on (http[^\s"]+)/.exec(line);
          if (match) resolve(match[1]);
        });
        app.on('exit', (code) => reject(new Error(`the app exited ${code}: ${stderr}`)));
      });
      const body = JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
      expect((await post(`${url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET))).status).toBe(202);
      await until(
        () => Promise.resolve(gitea.comments('gitea-org', 'agents', 2)[0].body),
        (text) => text.includes('Preview removed'),
        60_000,
      );
      expect(await new PreviewSeeder(local, API_KEY).status(preview.id)).toBe('DELETED');
      expect(proxy.log.filter((entry) => entry.form === 'connect').map((entry) => entry.target)).toContain(hostOf(gitea.url));
      expect(proxy.log.some((entry) => entry.form === 'absolute' && entry.method === 'DELETE' && hostOf(entry.target) === hostOf(local.url))).toBe(true);
    } finally {
      app.kill();
      await exited;
      await gitea.close();
    }
  });
});
