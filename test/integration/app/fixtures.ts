import { createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadManifest, packContext } from '../../../src/context/index.js';
import { STICKY_MARKER } from '../../../src/forge/comment.js';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import type { LocalPlatform } from '../../../src/local-platform/index.js';
import type { Deployment } from '../../../src/platforms/platform.js';
import { HELLO_AGENT, REPO_ROOT } from '../../support/agents.js';
import type { TestForge } from '../../support/forge/server.js';
import { until } from '../../support/wait.js';

export { until };

export type Json = Record<string, any>;

let githubExamples: Promise<{ name: string; examples: Json[] }[]> | undefined;

/** GitHub's own example delivery of an event (@octokit/webhooks-examples), a fresh copy each call. */
export async function githubExample(event: string, action?: string): Promise<Json> {
  // The index is read and parsed once per test file: it is several megabytes.
  githubExamples ??= readFile(path.join(REPO_ROOT, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8').then(JSON.parse);
  const found = (await githubExamples).find((entry) => entry.name === event)?.examples.find((example) => example.action === action && example.installation);
  if (!found) throw new Error(`no ${event}.${action} example`);
  return structuredClone(found);
}

export function hmacHex(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export interface Delivery {
  status: number;
  body: string;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Delivery> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, body: await response.text() };
}

/** Signs `raw` as the door's forge signs a delivery (unsigned without a secret) and posts it to the app's webhook route: the answer, and the headers sent (to replay it). */
export async function deliver(
  appUrl: string,
  door: 'github' | 'gitea',
  event: string,
  raw: string,
  secret: string | undefined,
): Promise<Delivery & { headers: Record<string, string> }> {
  const headers = door === 'github' ? githubHeaders(event, raw, secret) : giteaHeaders(event, raw, secret);
  return { ...(await post(`${appUrl}/api/${door}/webhooks`, raw, headers)), headers };
}

let appKeys: { privateKey: string; publicKey: KeyObject } | undefined;

/**
 * A GitHub App's keys, made once per test file: the PEM the app is given (PRIVATE_KEY) and the public
 * key the test forge checks the app's JWTs with. A test key: 1024 bits take 12 ms to make where 2048,
 * what GitHub gives real apps, take 250; the JWT is signed alike.
 */
export function githubAppKeys(): { privateKey: string; publicKey: KeyObject } {
  if (!appKeys) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    appKeys = { privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
  }
  return appKeys;
}

/** The headers GitHub sends with a delivery, signed with the secret. */
export function githubHeaders(event: string, body: string, secret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/7f3e1a2',
    'x-github-event': event,
    'x-github-delivery': randomUUID(),
    'x-github-hook-id': '460007',
    'x-github-hook-installation-target-id': '123456',
    'x-github-hook-installation-target-type': 'integration',
  };
  if (secret) {
    headers['x-hub-signature-256'] = `sha256=${hmacHex(secret, body)}`;
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
  }
  return headers;
}

/** Gitea's full header set for a delivery (Gitea also sends the Gogs and GitHub spellings). */
export function giteaHeaders(event: string, body: string, secret: string | undefined): Record<string, string> {
  const delivery = randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Go-http-client/1.1',
    'x-gitea-delivery': delivery,
    'x-gitea-event': event,
    'x-gitea-event-type': event === 'pull_request' ? 'pull_request' : event,
    'x-gitea-hook-installation-target-type': 'repository',
    'x-gogs-delivery': delivery,
    'x-gogs-event': event,
    'x-gogs-event-type': event,
    'x-github-delivery': delivery,
    'x-github-event': event,
    'x-github-event-type': event,
    'x-github-hook-installation-target-type': 'repository',
  };
  if (secret) {
    const signature = hmacHex(secret, body);
    headers['x-gitea-signature'] = signature;
    headers['x-gogs-signature'] = signature;
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
    headers['x-hub-signature-256'] = `sha256=${signature}`;
  }
  return headers;
}

/** A Gitea 1.22-shaped `pull_request` `closed` payload. */
export function giteaPullRequestClosed(serverUrl: string, owner: string, repo: string, number: number, head: { ref: string; sha: string }): Json {
  const repository = {
    id: 7,
    owner: { id: 3, login: owner, login_name: '', full_name: '', email: `${owner}@noreply.gitea.local`, username: owner },
    name: repo,
    full_name: `${owner}/${repo}`,
    description: '',
    empty: false,
    private: false,
    fork: false,
    html_url: `${serverUrl}/${owner}/${repo}`,
    ssh_url: `git@gitea.local:${owner}/${repo}.git`,
    clone_url: `${serverUrl}/${owner}/${repo}.git`,
    default_branch: 'main',
  };
  return {
    action: 'closed',
    number,
    pull_request: {
      id: 41,
      url: `${serverUrl}/${owner}/${repo}/pulls/${number}`,
      number,
      user: { id: 3, login: owner, username: owner },
      title: 'Greet in French',
      body: '',
      state: 'closed',
      merged: true,
      merged_at: '2026-11-23T09:30:00Z',
      html_url: `${serverUrl}/${owner}/${repo}/pulls/${number}`,
      base: { label: 'main', ref: 'main', sha: 'a'.repeat(40), repo_id: 7, repo: repository },
      head: { label: head.ref, ref: head.ref, sha: head.sha, repo_id: 7, repo: repository },
      merge_base: 'a'.repeat(40),
      closed_at: '2026-11-23T09:30:00Z',
    },
    requested_reviewer: null,
    repository,
    sender: { id: 3, login: owner, username: owner },
    commit_id: '',
    review: null,
  };
}

/**
 * GitHub's example `pull_request` `closed` delivery (Codertocat/Hello-World), the pull request it
 * names closed on `github` (the repository seeded first unless `seedRepo` is false), and a healthy
 * preview of the pull request's label whose build records that repository.
 */
export async function exampleClose(github: TestForge, seeder: PreviewSeeder, options: { seedRepo?: boolean } = {}): Promise<{ payload: Json; preview: Deployment }> {
  const payload = await githubExample('pull_request', 'closed');
  const pull = payload.pull_request;
  if (options.seedRepo !== false) github.seedRepo('Codertocat', 'Hello-World');
  github.seedPullRequest('Codertocat', 'Hello-World', { number: pull.number, headSha: pull.head.sha, headRef: pull.head.ref, state: 'closed' });
  return { payload, preview: await seeder.preview('github.com/Codertocat/Hello-World', `pr-${pull.number}`) };
}

/** Closed pull requests 1…`count` of gitea-org/agents on `gitea` (from `branch-<n>`, head `ccc…`), each with a healthy preview of its label `pr-<n>`. */
export async function closedGiteaPulls(gitea: TestForge, seeder: PreviewSeeder, count: number): Promise<Deployment[]> {
  const repo = `${new URL(gitea.url).host}/gitea-org/agents`;
  const previews = [];
  for (let number = 1; number <= count; number++) {
    gitea.seedPullRequest('gitea-org', 'agents', { number, headSha: 'c'.repeat(40), headRef: `branch-${number}`, state: 'closed' });
    previews.push(await seeder.preview(repo, `pr-${number}`));
  }
  return previews;
}

/** The body of Gitea's `pull_request` `closed` delivery of gitea-org/agents#`number` (from `branch-<number>`). */
export function giteaCloseBody(gitea: TestForge, number: number): string {
  return JSON.stringify(giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', number, { ref: `branch-${number}`, sha: 'c'.repeat(40) }));
}

export function stickyBody(label: string): string {
  return `${STICKY_MARKER}\n### Agent preview · \`${label}\`\n\n| Agent | Status |\n| --- | --- |\n| **hello-agent** | ✅ Ready |`;
}

/** Builds hello-agent once per source repository and deploys previews of it, over the Agentex API. */
export class PreviewSeeder {
  private readonly builds = new Map<string, string>();
  readonly client: AgentexPlatform;

  constructor(
    private readonly local: LocalPlatform,
    apiKey: string,
  ) {
    this.client = new AgentexPlatform({
      name: 'local',
      baseUrl: local.url,
      apiKey,
      accountId: 'acct-local',
      deploymentsCarryUrl: true,
      env: {},
      retry: { minDelayMs: 1, maxDelayMs: 5 },
    });
  }

  /** A healthy preview labelled `label` whose build records `sourceRepo` (none when undefined). */
  async preview(sourceRepo: string | undefined, label: string): Promise<Deployment> {
    const buildId = await this.buildFor(sourceRepo);
    const created = await this.client.createDeployment({
      agentName: 'hello-agent',
      manifestText: await readFile(path.join(HELLO_AGENT, 'manifest.yaml'), 'utf8'),
      environmentText: await readFile(path.join(HELLO_AGENT, 'environments.yaml'), 'utf8'),
      buildId,
      preview: { label, expiresAt: new Date(Date.now() + 3_600_000) },
    });
    return until(
      () => this.client.getDeployment(created.id),
      (deployment) => deployment.phase === 'healthy',
    );
  }

  async status(id: string): Promise<string> {
    return (await this.client.getDeployment(id)).rawStatus.toUpperCase();
  }

  /** Resolves once the deployment is DELETED (by a teardown running in the background). */
  async deleted(id: string, timeoutMs?: number): Promise<void> {
    await until(
      () => this.status(id),
      (status) => status === 'DELETED',
      timeoutMs,
    );
  }

  private async buildFor(sourceRepo: string | undefined): Promise<string> {
    const key = sourceRepo ?? '';
    const known = this.builds.get(key);
    if (known) return known;
    const manifest = await loadManifest(path.join(HELLO_AGENT, 'manifest.yaml'));
    const packed = await packContext(manifest);
    try {
      const build = await this.client.createBuild({
        agentName: 'hello-agent',
        archivePath: packed.archivePath,
        archiveBytes: packed.archiveBytes,
        treeHash: packed.treeHash,
        imageName: 'hello-agent',
        imageTag: packed.treeHash.slice(0, 12),
        provenance: sourceRepo ? { repo: sourceRepo, commit: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', ref: 'refs/pull/2/merge' } : {},
      });
      await until(
        () => this.client.getBuild(build.id),
        (current) => current.phase === 'succeeded',
      );
      this.builds.set(key, build.id);
      return build.id;
    } finally {
      await packed.dispose();
    }
  }
}

/** Collects the app's JSON log lines. */
export class LogCapture {
  readonly lines: string[] = [];
  write = (line: string) => {
    this.lines.push(line);
    return true;
  };
  get text(): string {
    return this.lines.join('');
  }
  messages(): Json[] {
    return this.lines.map((line) => JSON.parse(line) as Json);
  }
}

/** The committed app bundle, `npm run app`'s entry (CI checks that it matches `src/`). */
export const APP_BUNDLE = path.join(REPO_ROOT, 'dist', 'app', 'index.js');

export interface AppProcess {
  url: string;
  pid: number;
  logs: LogCapture;
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** The environment of an app process with the Gitea door alone, on the local platform. */
export function giteaAppEnv(gitea: TestForge, local: LocalPlatform, keys: { apiKey: string; giteaToken: string; giteaSecret: string }): Record<string, string> {
  return {
    GITEA_URL: gitea.url,
    GITEA_TOKEN: keys.giteaToken,
    GITEA_WEBHOOK_SECRET: keys.giteaSecret,
    AGENT_PREVIEW_PLATFORM: 'local',
    AGENT_PREVIEW_LOCAL_URL: local.url,
    AGENT_PREVIEW_LOCAL_KEY: keys.apiKey,
  };
}

/** Runs the app as its own process (`npm run app`), configured by `env` alone. */
export async function startAppProcess(env: Record<string, string>): Promise<AppProcess> {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  // Run from the repository, so packages the bundle leaves out (none today) still load.
  const child = spawn(process.execPath, [APP_BUNDLE], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', AGENT_PREVIEW_WRITE_SPACING: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new LogCapture();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.write(`${line}\n`);
      const match = /listening on (http:\/\/\S+?)"/.exec(line);
      if (match) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`the app exited (${code}) before listening: ${stderr}`)));
  });
  return { url, pid: child.pid!, logs, exited, kill: (signal) => child.kill(signal) };
}
