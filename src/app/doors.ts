import { Probot, type Logger } from 'probot';
import { InputError } from '../errors.js';
import { abortableFetch } from '../forge/client.js';
import type { WriteSpacing } from '../forge/throttle.js';
import { repoConfigDefaults, type RepoConfig } from '../previews/repo-config.js';
import { DeliveryRefused, type AccessFor, type DoorName } from './deliveries.js';
import { githubAccessFor } from './github.js';
import { giteaAccessFor, type GiteaSettings } from './gitea.js';
import { appOctokit } from './octokit.js';

export interface DoorSettings {
  /** GitHub App credentials; with `githubToken` instead, every call uses that one token. */
  appId?: string | number;
  privateKey?: string;
  githubToken?: string;
  /** Verifies GitHub deliveries (X-Hub-Signature-256). Required when the GitHub door is on. */
  webhookSecret?: string;
  /** The GitHub REST API (GHES: https://host/api/v3). */
  githubBaseUrl?: string;
  /** The host builds record for GitHub repositories: github.com unless GHES. */
  githubHost?: string;
  gitea?: GiteaSettings;
  /** The label template for repositories without `.github/agent-preview.yml` (default `pr-{number}`). */
  defaultLabelTemplate?: string;
  /** Redis (REDIS_URL): Probot's throttling keeps its limiters there (Bottleneck clustering). */
  redisUrl?: string;
  /** How far apart writes to GitHub go (AGENT_PREVIEW_WRITE_SPACING); GitHub's guidance unless given. */
  writeSpacing?: WriteSpacing;
}

export interface GithubDoor {
  probot: Probot;
  /** The host builds record for GitHub repositories: github.com, or the GHES host. */
  host: string;
  /** Run with one token (`githubToken`): no installations to look up. */
  tokenRun: boolean;
  access: AccessFor;
}

export interface GiteaDoor {
  settings: GiteaSettings;
  access: AccessFor;
}

/** The forges this app serves, and each one's access to the repositories its deliveries name. */
export interface Doors {
  github?: GithubDoor;
  gitea?: GiteaDoor;
  /** The config of a repository without `.github/agent-preview.yml`. */
  defaultConfig: RepoConfig;
  /** The doors open: one queue lane each. */
  open: DoorName[];
  /** The access of the door a job came through, rebuilt from the job (any replica can run it). */
  accessFor: AccessFor;
  /** Closes what the doors hold open (the GitHub throttling's Redis connection). */
  close(): Promise<void>;
}

/** Opens the GitHub door (Probot) when GitHub credentials are set, and the Gitea door when Gitea's are. */
export async function openDoors(settings: DoorSettings, log: Logger, lifetime: AbortSignal): Promise<Doors> {
  const defaultConfig = repoConfigDefaults(settings.defaultLabelTemplate);
  const github = await openGithubDoor(settings, log, defaultConfig, lifetime);
  const gitea = settings.gitea ? { settings: settings.gitea, access: giteaAccessFor(settings.gitea, defaultConfig, lifetime) } : undefined;
  const byName: Record<DoorName, AccessFor | undefined> = { github: github?.door.access, gitea: gitea?.access };
  return {
    github: github?.door,
    gitea,
    defaultConfig,
    open: (['github', 'gitea'] as const).filter((name) => byName[name]),
    accessFor: async (delivered, signal) => {
      const access = byName[delivered.door];
      if (!access) throw new DeliveryRefused(`this app does not serve ${delivered.door}`);
      return access(delivered, signal);
    },
    close: async () => github?.close(),
  };
}

/** Probot, on our undici (every call aborted once the app stops) and with our throttling (in Redis with REDIS_URL). */
async function openGithubDoor(settings: DoorSettings, log: Logger, defaultConfig: RepoConfig, lifetime: AbortSignal) {
  const asApp = settings.appId !== undefined && settings.appId !== '' && Boolean(settings.privateKey);
  if (!asApp && !settings.githubToken) return undefined;
  if (!settings.webhookSecret?.trim()) throw new InputError('the GitHub webhook needs a secret: set WEBHOOK_SECRET', { field: 'WEBHOOK_SECRET' });
  const octokit = await appOctokit({
    redisUrl: settings.redisUrl,
    writeSpacing: settings.writeSpacing,
    onError: (message) => log.error({ source: 'bottleneck' }, `GitHub throttling in Redis: ${message}`),
  });
  const probot = new Probot({
    ...(asApp ? { appId: settings.appId, privateKey: settings.privateKey } : { githubToken: settings.githubToken }),
    secret: settings.webhookSecret,
    baseUrl: settings.githubBaseUrl,
    log,
    Octokit: octokit.Octokit,
    request: { fetch: abortableFetch(lifetime) },
  });
  const host = (settings.githubHost ?? 'github.com').toLowerCase();
  const tokenRun = Boolean(settings.githubToken);
  const door: GithubDoor = { probot, host, tokenRun, access: githubAccessFor(probot, { githubHost: host, asApp: !tokenRun, defaultConfig }) };
  return { door, close: octokit.close };
}
