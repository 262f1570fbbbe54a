import { readFile } from 'node:fs/promises';
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

export async function readRunEvent(env: NodeJS.ProcessEnv): Promise<RunEvent> {
  const forge: ForgeKind = env.GITEA_ACTIONS === 'true' ? 'gitea' : 'github';
  const eventPath = env.GITHUB_EVENT_PATH;
  let payload: Json = {};
  if (eventPath) {
    try {
      payload = JSON.parse(await readFile(eventPath, 'utf8')) as Json;
    } catch (err) {
      throw new InputError(`cannot read the event payload: ${(err as Error).message}`, { file: eventPath });
    }
  }
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? payload.repository?.full_name ?? '/').split('/');
  if (!owner || !repo) throw new InputError('GITHUB_REPOSITORY is not set; run inside GitHub or Gitea Actions', { field: 'GITHUB_REPOSITORY' });
  const serverUrl = (env.GITHUB_SERVER_URL ?? (forge === 'gitea' ? '' : 'https://github.com')).replace(/\/+$/, '');
  const apiUrl = (env.GITHUB_API_URL ?? (forge === 'gitea' ? giteaApiUrl(serverUrl) : 'https://api.github.com')).replace(/\/+$/, '');
  const ref = env.GITHUB_REF ?? payload.ref;
  const pr = payload.pull_request as Json | undefined;
  const event: RunEvent = {
    forge,
    name: env.GITHUB_EVENT_NAME ?? (pr ? 'pull_request' : 'push'),
    action: payload.action,
    repo: { owner, repo },
    sourceRepo: sourceRepoOfRun(payload.repository?.html_url, serverUrl, owner, repo),
    apiUrl,
    serverUrl,
    runUrl: runUrlOf(forge, serverUrl, `${owner}/${repo}`, env),
    sha: pr?.head?.sha ?? env.GITHUB_SHA ?? payload.after ?? '',
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
function runUrlOf(forge: ForgeKind, serverUrl: string, repository: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!serverUrl) return undefined;
  if (forge === 'gitea') return env.GITHUB_RUN_NUMBER ? `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_NUMBER}?by_index=1` : undefined;
  return env.GITHUB_RUN_ID ? `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
}
