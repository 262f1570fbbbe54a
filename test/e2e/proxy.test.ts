import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { REPO_ROOT } from '../support/agents.js';
import { startTestForge } from '../support/forge/server.js';
import { usePreviewEnv } from '../support/preview-env.js';
import { selfSignedCertificate, startLoggingProxy, type LoggingProxy } from '../support/proxy.js';
import { until } from '../support/wait.js';
import { APP_BUNDLE, giteaHeaders, giteaPullRequestClosed, post, PreviewSeeder } from '../integration/app/fixtures.js';
import { STICKY_MARKER } from '../../src/forge/comment.js';

const API_KEY = 'sk-proxy-Wq71LmZ0pV3xYb2R';
const TOKEN = 'ghs_proxyToken0123456789abcdefABCD';
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');
const GITEA_SECRET = 'whsec-proxy-gitea-5e0c7a19bd3f';

const certificate = selfSignedCertificate();
const hostOf = (url: string) => new URL(url).host;

describe('behind a forward proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)', () => {
  // The forge over HTTPS, so its calls tunnel (CONNECT); the local platform over plain HTTP, so its calls go in absolute form.
  const env = usePreviewEnv({ apiKey: API_KEY, token: TOKEN, forge: { tls: certificate }, pull: { number: 2, headSha: 'a'.repeat(40) }, local: { deployStepMs: 20 } });
  let proxy: LoggingProxy;
  beforeEach(async () => {
    proxy = await startLoggingProxy();
  });
  afterEach(() => proxy.close());

  function runAction(proxyEnv: NodeJS.ProcessEnv) {
    return env.run(env.pullRequestEvent('opened', 'a'.repeat(40)), {}, { env: { NODE_EXTRA_CA_CERTS: certificate.file, ...proxyEnv } });
  }

  it('the action sends its forge calls (CONNECT) and its platform calls (absolute form) through the proxy', async () => {
    const run = await runAction({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
    expect(run.log).not.toMatch(/::error::/);
    expect(run.code).toBe(0);
    expect(env.forge.comments('Codertocat', 'Hello-World', 2)).toHaveLength(1);
    expect(proxy.log.filter((entry) => entry.form === 'connect').map((entry) => entry.target)).toContain(hostOf(env.forge.url));
    const platformCalls = proxy.log.filter((entry) => entry.form === 'absolute' && hostOf(entry.target) === hostOf(env.local.url));
    expect(platformCalls.map((entry) => entry.method)).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(platformCalls.length).toBe(env.local.requests.length);
  });

  it('the lower-case variables count too, and NO_PROXY covering the hosts bypasses the proxy', async () => {
    const run = await runAction({ https_proxy: proxy.url, http_proxy: proxy.url, no_proxy: '127.0.0.1' });
    expect(run.code).toBe(0);
    expect(env.forge.comments('Codertocat', 'Hello-World', 2)).toHaveLength(1);
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
          env.local.url,
          '--json',
          'deploy',
          '-m',
          path.join(env.workspace, 'agents', 'hello', 'manifest.yaml'),
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
    expect(proxy.log.every((entry) => entry.form === 'absolute' && hostOf(entry.target) === hostOf(env.local.url))).toBe(true);
  });

  it('the app asks the Gitea forge (CONNECT) and deletes on the platform (absolute form) through the proxy', async () => {
    const gitea = await startTestForge({ flavor: 'gitea', token: TOKEN, tls: certificate });
    gitea.seedRepo('gitea-org', 'agents');
    gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed' });
    gitea.seedComment('gitea-org', 'agents', 2, { body: `${STICKY_MARKER}\nready`, user: 'gitea-actions' });
    const preview = await new PreviewSeeder(env.local, API_KEY).preview(`${hostOf(gitea.url)}/gitea-org/agents`, 'pr-2');
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
        AGENT_PREVIEW_LOCAL_URL: env.local.url,
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
      expect(await new PreviewSeeder(env.local, API_KEY).status(preview.id)).toBe('DELETED');
      expect(proxy.log.filter((entry) => entry.form === 'connect').map((entry) => entry.target)).toContain(hostOf(gitea.url));
      expect(proxy.log.some((entry) => entry.form === 'absolute' && entry.method === 'DELETE' && hostOf(entry.target) === hostOf(env.local.url))).toBe(true);
    } finally {
      app.kill();
      await exited;
      await gitea.close();
    }
  });
});
