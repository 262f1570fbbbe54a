/**
 * The GitHub door. Probot verifies a delivery (`X-Hub-Signature-256`, with `WEBHOOK_SECRET`) and
 * parses it; `githubDoorApp` hands it to the router (`router.ts`) with this door's access to the
 * repository: the credentials of the installation the delivery names, after GitHub has confirmed
 * that the repository belongs to it (`githubAccessFor`). What is done with a delivery is the
 * router's handlers' business (`handlers.ts`), the same for Gitea.
 */
import { createHash } from 'node:crypto';
import type { ApplicationFunction, Context, Probot } from 'probot';
import type { EmitterWebhookEventName } from '@octokit/webhooks';
import { forgeFor, type ForgeOctokit } from '../forge/client.js';
import type { Forge } from '../forge/forge.js';
import { DeliveryRefused, type AccessFor, type RepoAccess } from './deliveries.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig, REPO_CONFIG_PATH, type RepoConfig } from '../previews/repo-config.js';
import type { DeliveryRouter } from './router.js';
import { sourceRepoFromWebUrl } from '../pipeline/source-repo.js';

/**
 * A Probot app that subscribes to the router's events and hands each verified delivery over once.
 * The router's handlers must be registered before Probot loads this (`appRouter` does that).
 */
export function githubDoorApp(router: DeliveryRouter, accessFor: AccessFor): ApplicationFunction {
  return (app) => {
    app.on(router.events as EmitterWebhookEventName[], async (context) => {
      await router.receive({
        door: 'github',
        id: context.id,
        name: context.name,
        payload: context.payload,
        bodyDigest: payloadDigest(context.payload),
        installationId: installationIdOf(context.payload),
        log: context.log,
        accessFor,
      });
    });
  };
}

function installationIdOf(payload: object): number | undefined {
  const id = (payload as { installation?: { id?: unknown } }).installation?.id;
  return typeof id === 'number' ? id : undefined;
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
 * The GitHub door's access to a delivered repository, with the credentials of the installation the
 * delivery names, after checking that the repository is on this GitHub and belongs to that
 * installation (`GET /repos/{owner}/{repo}/installation`, app JWT:
 * docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app).
 * Every call carries the attempt's signal.
 */
export function githubAccessFor(probot: Probot, options: GithubAccessOptions): AccessFor {
  const defaultConfig = options.defaultConfig ?? DEFAULT_REPO_CONFIG;
  const botLogins = appBotLogin(probot);
  return async (delivered, signal) => {
    const repo = sourceRepoFromWebUrl(delivered.repository.htmlUrl);
    if (!repo || repo.host !== options.githubHost.toLowerCase()) {
      throw new DeliveryRefused(`the delivery names ${delivered.repository.htmlUrl}, which is not on ${options.githubHost}; this door serves no other host`);
    }
    const repoRef = { owner: delivered.repository.owner, repo: delivered.repository.name };
    if (options.asApp) await requireInstallation(probot, repoRef, delivered.installationId, signal);
    const octokit = withSignal(await probot.auth(delivered.installationId), signal);
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
