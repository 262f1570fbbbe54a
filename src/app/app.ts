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
 * The webhook answers as soon as the delivery is verified and queued: config reads, platform and
 * forge calls all run in the background with retries (`background.ts`), each outcome logged with the
 * delivery id. What still fails is left for the sweep (`sweep.ts`), which needs no state from here.
 */
import type { ApplicationFunction, Context, Logger } from 'probot';
import { RestForge } from '../forge/rest.js';
import type { BackgroundQueue } from './background.js';
import { branchDeletedTask, pullRequestClosedTask, type PlatformFor, type RepoAccess } from './deliveries.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig, REPO_CONFIG_FILE, type RepoConfig } from '../previews/repo-config.js';
import { sourceRepoFromWebUrl } from '../pipeline/source-repo.js';

export interface PreviewAppOptions {
  queue: BackgroundQueue;
  platformFor: PlatformFor;
  /** What a repository without `.github/agent-preview.yml` gets. */
  defaultConfig?: RepoConfig;
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
      const access = githubAccess(context, repository, options.defaultConfig ?? DEFAULT_REPO_CONFIG, context.log);
      if (!access) return;
      options.queue.enqueue(
        pullRequestClosedTask({
          deliveryId: context.id,
          log: context.log,
          access,
          number: pull.number,
          headRef: pull.head.ref,
          headSha: pull.head.sha,
          platformFor: options.platformFor,
        }),
      );
      context.log.info({ repo: repository.full_name, pull: pull.number, merged: pull.merged }, `pull request #${pull.number} closed; teardown queued`);
    });

    app.on('delete', async (context) => {
      const { ref, ref_type: refType, repository } = context.payload;
      if (refType !== 'branch') return;
      const access = githubAccess(context, repository, options.defaultConfig ?? DEFAULT_REPO_CONFIG, context.log);
      if (!access) return;
      options.queue.enqueue(branchDeletedTask({ deliveryId: context.id, log: context.log, access, branch: ref, platformFor: options.platformFor }));
    });
  };
}

function githubAccess(context: Context, repository: RepositoryPayload, defaultConfig: RepoConfig, log: Logger): RepoAccess | undefined {
  const repo = sourceRepoFromWebUrl(repository.html_url);
  if (!repo) {
    log.warn({ htmlUrl: repository.html_url }, 'the delivery names no repository address; ignored');
    return undefined;
  }
  const repoRef = { owner: repository.owner.login, repo: repository.name };
  const octokit = context.octokit;
  return {
    repo: { ...repo, owner: repoRef.owner, repo: repoRef.repo },
    repoRef,
    loadConfig: async () => parseRepoConfig(await context.config(REPO_CONFIG_FILE), defaultConfig),
    readFile: async (path, signal) => {
      try {
        const response = await octokit.rest.repos.getContent({ ...repoRef, path, mediaType: { format: 'raw' }, request: { signal } });
        return typeof response.data === 'string' ? response.data : undefined;
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },
    forge: async () => forgeFromOctokit(octokit),
  };
}

/**
 * A REST forge with the installation token of the delivery's octokit (a token app: the token
 * itself), at the octokit's API address. RestForge speaks REST only, never GraphQL.
 */
export async function forgeFromOctokit(octokit: Context['octokit']): Promise<RestForge> {
  const token = await installationToken(octokit);
  if (!token) throw new Error('no installation token for this delivery');
  return new RestForge({ kind: 'github', apiUrl: octokit.request.endpoint.DEFAULTS.baseUrl, token });
}

/**
 * The token the octokit authenticates with. `octokit.auth({ type: 'installation' })` would ask for
 * it at api.github.com whatever the base URL (Probot builds its app auth without one), so on GitHub
 * Enterprise Server it fails. A request goes through the auth hook, which asks the right server;
 * this one is answered in-process by its own fetch, so only the token exchange reaches GitHub.
 */
async function installationToken(octokit: Context['octokit']): Promise<string | undefined> {
  let authorization: string | null = null;
  await octokit.request('GET /agent-preview/token-probe', {
    request: {
      fetch: async (_url: string, init: { headers?: ConstructorParameters<typeof Headers>[0] }) => {
        authorization = new Headers(init.headers).get('authorization');
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
      },
    },
  });
  const match = /^(?:token|bearer) (.+)$/i.exec(authorization ?? '');
  return match?.[1];
}
