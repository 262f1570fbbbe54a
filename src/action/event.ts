import { existsSync } from 'node:fs';
import { context as actionsContext } from '@actions/github';
import { InputError } from '../errors.js';
import { giteaApiUrl } from '../forge/client.js';
import type { ForgeKind, RepoRef } from '../forge/forge.js';
import { sourceRepoOfRun, type SourceRepo } from '../pipeline/source-repo.js';

/** The parts of the triggering event the action acts on, for GitHub and Gitea alike. */
export interface RunEvent {
  forge: ForgeKind;
  name: string;
  action?: string;
  repo: RepoRef;
  /** The repository as every door names it (from the payload's `repository.html_url`, which the forge builds from its own address). */
  sourceRepo?: SourceRepo;
  /** API base for REST calls. */
  apiUrl: string;
  serverUrl: string;
  runUrl?: string;
  sha: string;
  ref?: string;
  branch?: string;
  defaultBranch?: string;
  pull?: {
    number: number;
    headSha: string;
    headRef: string;
    headRepo?: string;
    baseRepo?: string;
    fork: boolean;
    merged: boolean;
    title?: string;
  };
}

type Json = Record<string, any>;

/** What the runner says about the run: `@actions/github`'s `context`, or one like it. */
export type ActionsContext = typeof actionsContext;

/**
 * The event the run acts on, from `@actions/github`'s `context` (@actions/github@9.1.1:
 * lib/context.js): it reads the payload at GITHUB_EVENT_PATH and GITHUB_EVENT_NAME, _SHA, _REF,
 * _RUN_ID, _RUN_NUMBER, _SERVER_URL and _API_URL when the module loads, and GITHUB_REPOSITORY (or
 * else the payload's `repository`) when `repo` is read. Gitea and Forgejo set the same variables
 * (GITEA_ACTIONS=true besides); their server URL ends in a slash and their API is `<server>/api/v1`
 * (go-gitea/gitea@0a6762c39ff01056652b0f3d7bae4e1b02b51ec2: services/actions/context.go,
 * `server_url: setting.AppURL`, `api_url: setting.AppURL + "api/v1"`).
 */
export function readRunEvent(env: NodeJS.ProcessEnv, context: ActionsContext = actionsContext): RunEvent {
  const forge: ForgeKind = env.GITEA_ACTIONS === 'true' ? 'gitea' : 'github';
  // The context only prints that the file is missing, and goes on with an empty payload.
  if (env.GITHUB_EVENT_PATH && !existsSync(env.GITHUB_EVENT_PATH)) {
    throw new InputError('the event payload file does not exist; run inside GitHub or Gitea Actions, or point GITHUB_EVENT_PATH at one', { file: env.GITHUB_EVENT_PATH });
  }
  const payload = context.payload as Json;
  const { owner, repo } = repositoryOf(context);
  // Where a variable is unset the context gives github.com's addresses, which are wrong for a Gitea.
  const serverUrl = (forge === 'gitea' && !env.GITHUB_SERVER_URL ? '' : context.serverUrl).replace(/\/+$/, '');
  const apiUrl = (forge === 'gitea' && !env.GITHUB_API_URL ? giteaApiUrl(serverUrl) : context.apiUrl).replace(/\/+$/, '');
  const ref = context.ref ?? payload.ref;
  const pr = payload.pull_request as Json | undefined;
  const event: RunEvent = {
    forge,
    name: context.eventName ?? (pr ? 'pull_request' : 'push'),
    action: payload.action,
    repo: { owner, repo },
    sourceRepo: sourceRepoOfRun(payload.repository?.html_url, serverUrl, owner, repo),
    apiUrl,
    serverUrl,
    runUrl: runUrlOf(forge, serverUrl, `${owner}/${repo}`, context),
    sha: pr?.head?.sha ?? context.sha ?? payload.after ?? '',
    ref,
    branch: typeof ref === 'string' && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined,
    defaultBranch: payload.repository?.default_branch,
  };
  if (pr) {
    const headRepo = pr.head?.repo?.full_name as string | undefined;
    const baseRepo = (pr.base?.repo?.full_name as string | undefined) ?? `${owner}/${repo}`;
    event.pull = {
      number: Number(pr.number ?? payload.number),
      headSha: String(pr.head?.sha ?? ''),
      headRef: String(pr.head?.ref ?? ''),
      headRepo,
      baseRepo,
      fork: Boolean(pr.head?.repo?.fork) || (headRepo !== undefined && headRepo !== baseRepo),
      merged: Boolean(pr.merged),
      title: pr.title,
    };
    event.branch = event.pull.headRef;
  }
  return event;
}

/** The context's `repo`, which throws without GITHUB_REPOSITORY and a payload naming the repository. */
function repositoryOf(context: ActionsContext): RepoRef {
  let repo: Partial<RepoRef> = {};
  try {
    repo = context.repo;
  } catch {
    // Named below.
  }
  if (!repo.owner || !repo.repo) throw new InputError('GITHUB_REPOSITORY is not set; run inside GitHub or Gitea Actions', { field: 'GITHUB_REPOSITORY' });
  return { owner: repo.owner, repo: repo.repo };
}

/**
 * The run's page. GitHub addresses runs by `GITHUB_RUN_ID`. Gitea and Forgejo set `GITHUB_RUN_ID`
 * to the run's instance-wide id and `GITHUB_RUN_NUMBER` to its per-repository index
 * (go-gitea/gitea services/actions: `"run_id": fmt.Sprint(run.ID), "run_number": fmt.Sprint(run.Index)`),
 * and their run pages `/{owner}/{repo}/actions/runs/{run}` take the index: Forgejo and Gitea before
 * 1.26 look the run up by index only (go-gitea/gitea@7aad4dc7c30e43d8ae58dcc541caf6538dd658f7:
 * routers/web/repo/actions/view.go, getRunJobs → GetRunByIndex); newer Gitea tries the number as an
 * id first and reads it as an index when `by_index=1` is given (go-gitea/gitea main:
 * routers/web/repo/actions/view.go, resolveCurrentRunForView). So the link carries the index and
 * `?by_index=1`, which the older servers ignore.
 */
function runUrlOf(forge: ForgeKind, serverUrl: string, repository: string, context: ActionsContext): string | undefined {
  if (!serverUrl) return undefined;
  // The context parses both with parseInt: NaN when unset.
  if (forge === 'gitea') return Number.isInteger(context.runNumber) ? `${serverUrl}/${repository}/actions/runs/${context.runNumber}?by_index=1` : undefined;
  return Number.isInteger(context.runId) ? `${serverUrl}/${repository}/actions/runs/${context.runId}` : undefined;
}
