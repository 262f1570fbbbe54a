import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { clearSecrets } from '../../src/secrets/redact.js';
import { deliver, githubAppKeys, startAppProcess, type AppProcess, type Delivery } from '../integration/app/fixtures.js';
import { startTestForge, type TestForge } from './forge/server.js';

export type Door = 'github' | 'gitea';

/** What the file's app holds; none of it may show in its log. */
export interface AppWorldKeys {
  /** The local platform's key, which the app uses as its Agentex key. */
  apiKey: string;
  /** The GitHub App's webhook secret. */
  webhookSecret: string;
  giteaToken: string;
  giteaSecret: string;
  appId: number;
  installationId: number;
  installationToken: string;
  /** The GitHub App's private key (PEM). */
  privateKey: string;
}

export interface AppWorldOptions {
  /** Tells this file's keys, tokens and secrets apart from other files' (in their text). */
  name: string;
  /** Runs before the app starts, once the platform and the forges are up (another server, an agent). */
  before?: () => Promise<void>;
  /** More of the app's environment, read when it starts. */
  env?: () => Record<string, string>;
}

export interface AppWorld {
  keys: AppWorldKeys;
  local: LocalPlatform;
  /** A GitHub App's GHES-shaped test forge. */
  github: TestForge;
  /** A Gitea served under a sub-path (`/gitea`). */
  gitea: TestForge;
  /** The file's app. */
  app: AppProcess;
  forgeOf(door: Door): TestForge;
  /** `host[/sub-path]/owner/repo`, lowercased: the repository as the action records it on this door. */
  sourceRepo(door: Door, owner: string, repo: string): string;
  /** The app's environment for its Gitea door on the local platform's Agentex API (the file's app has the GitHub App's too). */
  giteaEnv(): Record<string, string>;
  /** Posts `raw` to the door's webhook route of `to` (the file's app unless given), signed with the door's secret unless `secret` is given. */
  deliver(door: Door, event: string, raw: string, options?: { secret?: string; to?: AppProcess }): Promise<Delivery & { headers: Record<string, string> }>;
}

/**
 * The world of the app's end-to-end tests through its committed bundle (`dist/app/index.js`, run as
 * its own process and configured by its environment alone), on both doors: a GitHub App on a
 * GHES-shaped test forge and a Gitea served under a sub-path, with the app on the local platform's
 * Agentex API. One app for the whole file (the hooks are `beforeAll` and `afterAll`; call it at the
 * top of the file); at the end the app has stopped on SIGTERM and its log holds none of the keys.
 */
export function useAppWorld(options: AppWorldOptions): AppWorld {
  const { name } = options;
  const keys: AppWorldKeys = {
    apiKey: `sk-e2e-${name}-Lq83Zx0vNw`,
    webhookSecret: `whsec-${name}-github-5d1e9a7c3b`,
    giteaToken: `gitea-token-${name}-9c4e2a71`,
    giteaSecret: `whsec-${name}-gitea-7b2f0d4e91`,
    appId: 9412,
    installationId: 7373,
    installationToken: `ghs_${name}InstallationToken4f5e6d7c`,
    privateKey: githubAppKeys().privateKey,
  };
  const world = { keys } as AppWorld;
  world.forgeOf = (door) => (door === 'github' ? world.github : world.gitea);
  world.sourceRepo = (door, owner, repo) => `${world.forgeOf(door).url.replace(/^https?:\/\//, '')}/${owner}/${repo}`.toLowerCase();
  world.giteaEnv = () => ({
    GITEA_URL: world.gitea.url,
    GITEA_TOKEN: keys.giteaToken,
    GITEA_WEBHOOK_SECRET: keys.giteaSecret,
    AGENT_PREVIEW_PLATFORM: 'agentex',
    SGP_CLIENT_BASE_URL: world.local.url,
    SGP_API_KEY: keys.apiKey,
    SGP_ACCOUNT_ID: 'acct-local',
  });
  world.deliver = (door, event, raw, { secret, to = world.app } = {}) => deliver(to.url, door, event, raw, secret ?? (door === 'github' ? keys.webhookSecret : keys.giteaSecret));

  beforeAll(async () => {
    const app = { appId: keys.appId, publicKey: githubAppKeys().publicKey, installationId: keys.installationId, installationToken: keys.installationToken };
    [world.local, world.github, world.gitea] = await Promise.all([
      startLocalPlatform({ apiKey: keys.apiKey, buildStepMs: 10, deployStepMs: 10 }),
      startTestForge({ flavor: 'github', ghes: true, app }),
      startTestForge({ flavor: 'gitea', token: keys.giteaToken, subPath: '/gitea' }),
    ]);
    await options.before?.();
    world.app = await startAppProcess({
      APP_ID: String(keys.appId),
      PRIVATE_KEY: keys.privateKey,
      WEBHOOK_SECRET: keys.webhookSecret,
      GHE_HOST: new URL(world.github.url).host,
      GHE_PROTOCOL: 'http',
      ...world.giteaEnv(),
      AGENT_PREVIEW_RETRY_DELAY: '1ms',
      LOG_LEVEL: 'debug',
      ...options.env?.(),
    });
  });

  afterAll(async () => {
    world.app.kill('SIGTERM');
    await world.app.exited;
    await Promise.all([world.local.close(), world.github.close(), world.gitea.close()]);
    const secrets = [keys.apiKey, keys.webhookSecret, keys.giteaToken, keys.giteaSecret, keys.installationToken, keys.privateKey.split('\n')[1]];
    for (const secret of secrets) expect(world.app.logs.text).not.toContain(secret);
    clearSecrets();
  });

  return world;
}
