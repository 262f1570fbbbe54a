/**
 * The GitHub App door: deletes a pull request's previews when it closes, and a branch's previews
 * when the branch is deleted (for repositories whose label template uses `{branch}`).
 *
 * Repository isolation. Labels (`pr-5`) repeat across repositories that share a platform account,
 * so a label alone never decides what to delete. Every build our action makes records its source
 * repository (`source_repo` = `host/owner/repo`, the server URL without scheme plus the repository).
 * On a delivery the app lists the deployments with the label, reads each one's recorded origin (on
 * the deployment where the platform carries it, else on its build) and keeps only those of the
 * delivering repository (host from `repository.html_url`). A preview whose origin is recorded nowhere
 * is deleted only when it belongs to an agent the repository's config names; otherwise it is logged
 * and left. See `src/pipeline/ownership.ts`.
 *
 * Nothing is deleted on a delivery's word: the delivery becomes a `TeardownJob`, and the job first
 * checks with GitHub, as the installation the delivery names, that the repository belongs to that
 * installation and that the pull request is closed (or the branch gone) right now.
 *
 * The webhook answers as soon as the delivery is verified and queued: config reads, platform and
 * forge calls all run in the background with retries (`background.ts`), each outcome logged with the
 * delivery id. What still fails is left for the sweep (`sweep.ts`), which needs no state from here.
 */
import { createHash } from 'node:crypto';
import type { ApplicationFunction, Context, Probot } from 'probot';
import { forgeFor, type ForgeOctokit } from '../forge/client.js';
import type { Forge } from '../forge/forge.js';
import { DeliveryRefused, type AccessFor, type RepoAccess, type TeardownJob } from './deliveries.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import type { TeardownQueue } from './teardown-queue.js';
import { sourceRepoFromWebUrl } from '../pipeline/source-repo.js';

export interface PreviewAppOptions {
  queue: TeardownQueue;
}

interface RepositoryPayload {
  name: string;
  full_name: string;
  html_url: string;
  owner: { login: string };
}

export function previewApp(options: PreviewAppOptions): ApplicationFunction {
  return (app) => {
    app.on('pull_request.closed', async (context) => {
      const { pull_request: pull, repository } = context.payload;
      const job: TeardownJob = { ...githubJob(context, repository), event: 'pull_request.closed', number: pull.number };
      const outcome = await options.queue.enqueue(job, context.log);
      context.log.info(
        { repo: repository.full_name, pull: pull.number, merged: pull.merged, outcome },
        outcome === 'duplicate' ? `delivery ${context.id} was already received; ignored` : `pull request #${pull.number} closed; teardown queued`,
      );
    });

    app.on('delete', async (context) => {
      const { ref, ref_type: refType, repository } = context.payload;
      if (refType !== 'branch') return;
      const outcome = await options.queue.enqueue({ ...githubJob(context, repository), event: 'branch.deleted', branch: ref }, context.log);
      if (outcome === 'duplicate') context.log.info(`delivery ${context.id} was already received; ignored`);
    });
  };
}

function githubJob(
  context: Context<'pull_request.closed' | 'delete'>,
  repository: RepositoryPayload,
): Pick<TeardownJob, 'door' | 'deliveryId' | 'bodyDigest' | 'installationId' | 'repository'> {
  return {
    door: 'github',
    deliveryId: context.id,
    bodyDigest: payloadDigest(context.payload),
    installationId: context.payload.installation?.id,
    repository: { owner: repository.owner.login, name: repository.name, htmlUrl: repository.html_url },
  };
}

/**
 * The SHA-256 of a delivery's signed body, as Probot parsed it. Probot hands handlers the parsed
 * payload only; serializing it again gives the same text for the same body (JSON.parse keeps the
 * order of keys), so a replay under a fresh delivery id, which must carry the same signed body, has
 * the same digest.
 */
function payloadDigest(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

export interface GithubAccessOptions {
  /** The host builds record for this GitHub (github.com, or the GHES host). */
  githubHost: string;
  /** A GitHub App: every delivery must name the installation its repository belongs to. */
  asApp: boolean;
  defaultConfig?: RepoConfig;
}

/**
 * The GitHub door's access to a job's repository, with the credentials of the installation the
 * delivery names, after checking that the repository is on this GitHub and belongs to that
 * installation (`GET /repos/{owner}/{repo}/installation`, app JWT:
 * docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app).
 * Every call carries the attempt's signal.
 */
export function githubAccessFor(probot: Probot, options: GithubAccessOptions): AccessFor {
  const defaultConfig = options.defaultConfig ?? DEFAULT_REPO_CONFIG;
  const botLogins = appBotLogin(probot);
  return async (job, signal) => {
    const repo = sourceRepoFromWebUrl(job.repository.htmlUrl);
    if (!repo || repo.host !== options.githubHost.toLowerCase()) {
      throw new DeliveryRefused(`the delivery names ${job.repository.htmlUrl}, which is not on ${options.githubHost}; this door serves no other host`);
    }
    const repoRef = { owner: job.repository.owner, repo: job.repository.name };
    if (options.asApp) await requireInstallation(probot, repoRef, job.installationId, signal);
    const octokit = withSignal(await probot.auth(job.installationId), signal);
    return {
      repo: { ...repo, owner: repoRef.owner, repo: repoRef.repo },
      repoRef,
      loadConfig: async () => {
        const { config, files } = await octokit.config.get({ ...repoRef, path: REPO_CONFIG_PATH });
        return parseRepoConfig(files.every((file) => file.config === null) ? null : config, defaultConfig);
      },
      readFile: async (path) => {
        try {
          const response = await octokit.rest.repos.getContent({ ...repoRef, path, mediaType: { format: 'raw' } });
          return typeof response.data === 'string' ? response.data : undefined;
        } catch (err) {
          if ((err as { status?: number }).status === 404) return undefined;
          throw err;
        }
      },
      pullRequest: async (number) => {
        try {
          const { data } = await octokit.rest.pulls.get({ ...repoRef, pull_number: number });
          return { state: data.state === 'closed' ? 'closed' : 'open', headRef: data.head.ref, headSha: data.head.sha };
        } catch (err) {
          if ((err as { status?: number }).status === 404)
            throw new DeliveryRefused(`${repoRef.owner}/${repoRef.repo} has no pull request #${number} that this installation can see`);
          throw err;
        }
      },
      branchExists: async (branch) => {
        try {
          await octokit.rest.repos.getBranch({ ...repoRef, branch });
          return true;
        } catch (err) {
          if ((err as { status?: number }).status === 404) return false;
          throw err;
        }
      },
      // `head` narrows the list to `owner:branch` (docs.github.com/en/rest/pulls/pulls#list-pull-requests); the filter below is the rule.
      openPullRequestsOn: async (branch) => {
        const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repoRef, state: 'open', head: `${repoRef.owner}:${branch}`, per_page: 100 });
        return pulls.filter((pull) => pull.head.ref === branch && sameFullName(pull.head.repo?.full_name, repoRef)).map((pull) => pull.number);
      },
      forge: async () => forgeFromOctokit(octokit, await botLogins()),
    } satisfies RepoAccess;
  };
}

/** Refuses a delivery unless the repository belongs to the installation it names. */
async function requireInstallation(probot: Probot, repoRef: { owner: string; repo: string }, named: number | undefined, signal: AbortSignal): Promise<void> {
  if (named === undefined) throw new DeliveryRefused('the delivery names no installation');
  const appOctokit = withSignal(await probot.auth(), signal);
  let installationId: number;
  try {
    installationId = (await appOctokit.rest.apps.getRepoInstallation(repoRef)).data.id;
  } catch (err) {
    if ((err as { status?: number }).status === 404) throw new DeliveryRefused(`the app is not installed on ${repoRef.owner}/${repoRef.repo}`);
    throw err;
  }
  if (installationId !== named) {
    throw new DeliveryRefused(`${repoRef.owner}/${repoRef.repo} belongs to installation ${installationId}, not to installation ${named} that the delivery names`);
  }
}

function sameFullName(fullName: string | undefined, repo: { owner: string; repo: string }): boolean {
  return fullName?.toLowerCase() === `${repo.owner}/${repo.repo}`.toLowerCase();
}

/** Every request of this octokit (config reads included, which take no request options) carries the signal. */
function withSignal<T extends Context['octokit']>(octokit: T, signal: AbortSignal): T {
  octokit.hook.before('request', (options) => {
    options.request = { ...options.request, signal: options.request?.signal ? AbortSignal.any([options.request.signal, signal]) : signal };
  });
  return octokit;
}

/**
 * The forge adapter on the delivery's own Octokit: Probot's installation-authenticated client, with
 * its throttling, retry and GHES base URL (`GHE_HOST`). REST only, never GraphQL.
 */
export async function forgeFromOctokit(octokit: Context['octokit'], botLogins: string[] = []): Promise<Forge> {
  return forgeFor('github', octokit as unknown as ForgeOctokit, { botLogins });
}

/**
 * The app's own `[bot]` login (`<slug>[bot]`), which its comments carry, from `GET /app` with the
 * app's JWT (docs.github.com/en/rest/apps/apps#get-the-authenticated-app). None for a token app.
 */
function appBotLogin(probot: Probot): () => Promise<string[]> {
  let login: Promise<string[]> | undefined;
  return () =>
    (login ??= probot
      .auth()
      .then((octokit) => octokit.request('GET /app'))
      .then((response) => (response.data?.slug ? [`${response.data.slug}[bot]`] : []))
      .catch(() => []));
}
