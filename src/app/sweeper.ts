import type { Logger, Probot } from 'probot';
import { createForge, giteaApiUrl } from '../forge/client.js';
import type { Forge } from '../forge/forge.js';
import type { SourceRepo } from '../pipeline/source-repo.js';
import { parseRepoConfig, parseRepoConfigText, REPO_CONFIG_PATH } from '../previews/repo-config.js';
import { formatSweepReport, sweepPreviews, type SweepOptions, type SweepReport } from '../previews/sweep.js';
import { redact } from '../secrets/redact.js';
import type { PlatformFor } from './deliveries.js';
import type { Doors, GiteaDoor, GithubDoor } from './doors.js';
import { forgeFromOctokit } from './github.js';
import { giteaServesRepo, readGiteaFile } from './gitea.js';

export interface SweeperParts {
  doors: Pick<Doors, 'github' | 'gitea' | 'defaultConfig'>;
  platformFor: PlatformFor;
  log: Logger;
  /** Aborted once the app stops. */
  lifetime: AbortSignal;
}

export interface Sweeper {
  /** One sweep; a sweep asked for while one runs gets that one's report (one at a time per process). */
  sweepOnce(dryRun: boolean): Promise<SweepReport>;
  /** Stops the interval; a sweep in flight goes on. */
  stop(): void;
  /** Resolves when no sweep is in flight. */
  settled(): Promise<void>;
}

/**
 * The sweep (`previews/sweep.ts`) through this app's doors: each recorded repository is asked of the
 * door that serves it. With `schedule` (SWEEP_INTERVAL) it also runs on that interval.
 */
export function startSweeper(schedule: { intervalMs: number; dryRun: boolean } | undefined, parts: SweeperParts): Sweeper {
  const { log } = parts;
  const forges = sweepForges(parts);
  let sweeping: Promise<SweepReport> | undefined;
  const sweepOnce = async (dryRun: boolean): Promise<SweepReport> => {
    // Replicas sweeping at once only repeat idempotent deletes.
    if (!sweeping) forges.forget();
    sweeping ??= sweepPreviews({
      platform: parts.platformFor(undefined),
      ...forges,
      dryRun,
      log: { info: (message) => log.info({ sweep: true }, message), warn: (message) => log.warn({ sweep: true }, message) },
    }).finally(() => (sweeping = undefined));
    const report = await sweeping;
    const counts = { examined: report.examined, deleted: report.deleted.length, wouldDelete: report.wouldDelete.length, failed: report.failed.length };
    log.info({ sweep: true, dryRun: report.dryRun, ...counts }, formatSweepReport(report));
    return report;
  };
  const timer = schedule && schedule.intervalMs > 0 ? setInterval(() => void sweepOnce(schedule.dryRun).catch(logFailure(log)), schedule.intervalMs) : undefined;
  timer?.unref();
  return {
    sweepOnce,
    stop: () => clearInterval(timer),
    settled: async () => void (await sweeping?.catch(() => undefined)),
  };
}

function logFailure(log: Logger) {
  return (err: unknown) => log.error({ sweep: true, error: redact((err as Error).message) }, 'sweep failed');
}

/**
 * The forge and the label template of a recorded repository: Gitea's when GITEA_URL's Gitea names the
 * repository at that address (asked once per repository per sweep), GitHub's when it is on the
 * GitHub door's host and the app is installed there; none otherwise (the sweep keeps its previews).
 */
function sweepForges({ doors, lifetime }: SweeperParts): Pick<SweepOptions, 'forgeFor' | 'labelTemplateFor'> & { forget(): void } {
  const { github, gitea, defaultConfig } = doors;
  const giteaAnswers = gitea ? giteaServesRepo(gitea.settings, lifetime) : undefined;
  const onGitea = async (repo: SourceRepo): Promise<GiteaDoor | undefined> =>
    gitea && giteaAnswers && !(github && repo.host === github.host) && (await giteaAnswers.serves(repo)) ? gitea : undefined;
  const onGithub = (repo: SourceRepo) => (github && repo.host === github.host ? installationOctokit(github, repo) : undefined);
  return {
    forget: () => giteaAnswers?.clear(),
    async forgeFor(repo): Promise<Forge | undefined> {
      const giteaDoor = await onGitea(repo);
      if (giteaDoor) return createForge({ kind: 'gitea', apiUrl: giteaApiUrl(giteaDoor.settings.url), token: giteaDoor.settings.token, lifetime });
      const octokit = await onGithub(repo);
      return octokit ? forgeFromOctokit(octokit) : undefined;
    },
    async labelTemplateFor(repo): Promise<string | undefined> {
      const giteaDoor = await onGitea(repo);
      if (giteaDoor) {
        const text = await readGiteaFile(giteaApiUrl(giteaDoor.settings.url), giteaDoor.settings.token, repo, REPO_CONFIG_PATH, AbortSignal.timeout(30_000));
        return parseRepoConfigText(text, defaultConfig).labelTemplate;
      }
      const octokit = await onGithub(repo);
      if (!octokit) return undefined;
      const { config } = await octokit.config.get({ owner: repo.owner, repo: repo.repo, path: REPO_CONFIG_PATH });
      return parseRepoConfig(Object.keys(config).length ? config : null, defaultConfig).labelTemplate;
    },
  };
}

/** An octokit for the app's installation on this repository, or undefined when it is not installed there. */
async function installationOctokit(github: GithubDoor, repo: SourceRepo): Promise<Awaited<ReturnType<Probot['auth']>> | undefined> {
  const appOctokit = await github.probot.auth();
  if (github.tokenRun) return appOctokit;
  try {
    const { data } = await appOctokit.rest.apps.getRepoInstallation({ owner: repo.owner, repo: repo.repo });
    return await github.probot.auth(data.id);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}
