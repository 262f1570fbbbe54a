import { ApiError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import type { ForgeOctokit } from './client.js';
import type { CommandReaction, CommentDetail, CommentReaction, CommitStatus, Forge, ForgeComment, ForgeKind, PreviewStatus, PullRef, PullRequestInfo, RepoRef } from './forge.js';

type Json = Record<string, unknown>;

/**
 * The login GitHub shows for whatever a workflow's `GITHUB_TOKEN` writes
 * (docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication).
 */
export const GITHUB_ACTIONS_LOGIN = 'github-actions[bot]';

/** GitHub and GitHub Enterprise Server over REST (never GraphQL), on an Octokit with throttling and retry. */
export class GitHubForge implements Forge {
  readonly kind: ForgeKind = 'github';
  private ownLogin?: Promise<string | undefined>;

  constructor(
    protected readonly octokit: ForgeOctokit,
    private readonly options: { botLogins?: string[] } = {},
  ) {}

  /** Runs one Octokit call; a failure becomes an ApiError naming the call, with no secret in it. */
  protected async call<T>(call: string, route: string, run: () => Promise<T>, accept: number[] = []): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && accept.includes(status)) return undefined;
      if ((err as Error).name === 'AbortError') throw err;
      const message = (err as { response?: { data?: { message?: unknown } } }).response?.data?.message;
      const detail = redact(typeof message === 'string' ? message : (err as Error).message);
      throw new ApiError(`${route} (${call})`, typeof status === 'number' && status >= 100 ? status : undefined, detail, { cause: err });
    }
  }

  async listComments(pr: PullRef, signal?: AbortSignal): Promise<ForgeComment[]> {
    const route = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments';
    const raw = await this.call('list PR comments', route, () =>
      this.octokit.paginate(route, { owner: pr.owner, repo: pr.repo, issue_number: pr.number, per_page: 100, request: { signal } }),
    );
    return (raw ?? []).map((comment) => toComment(comment as Json));
  }

  async createComment(pr: PullRef, body: string, signal?: AbortSignal): Promise<ForgeComment> {
    const route = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
    const response = await this.call('create PR comment', route, () =>
      this.octokit.request(route, { owner: pr.owner, repo: pr.repo, issue_number: pr.number, body, request: { signal } }),
    );
    return toComment(response!.data as Json);
  }

  async updateComment(repo: RepoRef, id: number, body: string, signal?: AbortSignal): Promise<boolean> {
    const route = 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}';
    const response = await this.call(
      'update PR comment',
      route,
      () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, comment_id: id, body, request: { signal } }),
      [404],
    );
    return response !== undefined;
  }

  async deleteComment(repo: RepoRef, id: number, signal?: AbortSignal): Promise<void> {
    const route = 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}';
    await this.call('delete PR comment', route, () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, comment_id: id, request: { signal } }), [404]);
  }

  /**
   * Logins whose comments can be ours: the Actions bot, the app's `[bot]` login, and the token's
   * own user where the token may ask (`GET /user` answers 403 to `GITHUB_TOKEN` and installation
   * tokens: docs.github.com/en/rest/users/users#get-the-authenticated-user).
   */
  async commentAuthors(signal?: AbortSignal): Promise<string[]> {
    this.ownLogin ??= this.tokenLogin(signal);
    const own = await this.ownLogin;
    return [...new Set([...this.defaultAuthors(), ...(this.options.botLogins ?? []), ...(own ? [own] : [])].map((login) => login.toLowerCase()))];
  }

  protected defaultAuthors(): string[] {
    return [GITHUB_ACTIONS_LOGIN];
  }

  private async tokenLogin(signal?: AbortSignal): Promise<string | undefined> {
    const route = 'GET /user';
    const response = await this.call('who the token is', route, () => this.octokit.request(route, { request: { signal } }), [401, 403, 404]);
    const login = (response?.data as Json | undefined)?.login;
    return typeof login === 'string' ? login : undefined;
  }

  async getPullRequest(pr: PullRef, signal?: AbortSignal): Promise<PullRequestInfo> {
    const route = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
    const response = await this.call('get pull request', route, () => this.octokit.request(route, { owner: pr.owner, repo: pr.repo, pull_number: pr.number, request: { signal } }));
    const body = response!.data as Json;
    const head = (body.head ?? {}) as Json;
    const base = (body.base ?? {}) as Json;
    return {
      number: Number(body.number ?? pr.number),
      state: body.state === 'closed' ? 'closed' : 'open',
      merged: Boolean(body.merged),
      headSha: String(head.sha ?? ''),
      headRef: String(head.ref ?? ''),
      headRepo: fullName(head.repo),
      baseRepo: fullName(base.repo),
    };
  }

  /** A deployment of the environment at the commit (found or created) with a new status. */
  async setPreviewStatus(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<void> {
    const deployment = await this.findOrCreateDeployment(repo, status, signal);
    const route = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
    await this.call('set deployment status', route, () =>
      this.octokit.request(route, {
        owner: repo.owner,
        repo: repo.repo,
        deployment_id: deployment,
        state: status.state,
        environment_url: status.url,
        log_url: status.logUrl,
        description: status.description.slice(0, 139),
        auto_inactive: status.state === 'success',
        request: { signal },
      }),
    );
  }

  /**
   * `POST /repos/{owner}/{repo}/statuses/{sha}` with `state`, `target_url`, `description` and
   * `context`, the same on GitHub (docs.github.com/en/rest/commits/statuses#create-a-commit-status;
   * a description over 140 characters is refused with 422, as reported in
   * sclorg/testing-farm-as-github-action#187) and on Gitea
   * (go-gitea/gitea@020f7fd0af8f68125fa75a198be2466e81583749:routers/api/v1/repo/status.go, NewCommitStatus,
   * with modules/structs' CreateStatusOption). Gitea inherits this as it is.
   */
  async setCommitStatus(repo: RepoRef, status: CommitStatus, signal?: AbortSignal): Promise<void> {
    const route = 'POST /repos/{owner}/{repo}/statuses/{sha}';
    const description = status.description.length > 140 ? `${status.description.slice(0, 139)}…` : status.description;
    await this.call('set commit status', route, () =>
      this.octokit.request(route, {
        owner: repo.owner,
        repo: repo.repo,
        sha: status.sha,
        state: status.state,
        context: status.context,
        description,
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
        request: { signal },
      }),
    );
  }

  private async findOrCreateDeployment(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<number> {
    const list = 'GET /repos/{owner}/{repo}/deployments';
    const existing = await this.call('list deployments', list, () =>
      this.octokit.request(list, { owner: repo.owner, repo: repo.repo, sha: status.sha, environment: status.environment, per_page: 10, request: { signal } }),
    );
    const found = ((existing?.data ?? []) as Json[]).find((deployment) => deployment.sha === status.sha && deployment.environment === status.environment);
    if (found) return Number(found.id);
    const create = 'POST /repos/{owner}/{repo}/deployments';
    const created = await this.call('create deployment', create, () =>
      this.octokit.request(create, {
        owner: repo.owner,
        repo: repo.repo,
        ref: status.sha,
        environment: status.environment,
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: [],
        description: 'agent-preview',
        request: { signal },
      }),
    );
    const body = (created?.data ?? {}) as Json;
    // 202 carries a message instead of a deployment (docs.github.com/en/rest/deployments/deployments#create-a-deployment).
    if (created?.status !== 201 || body.id === undefined) {
      throw new ApiError(`${create} (create deployment)`, created?.status, redact(String(body.message ?? 'no deployment created')));
    }
    return Number(body.id);
  }

  async deactivateEnvironment(repo: RepoRef, environment: string, signal?: AbortSignal): Promise<void> {
    const list = 'GET /repos/{owner}/{repo}/deployments';
    const deployments = await this.call('list deployments', list, () =>
      this.octokit.paginate(list, { owner: repo.owner, repo: repo.repo, environment, per_page: 100, request: { signal } }),
    );
    const route = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
    for (const deployment of (deployments ?? []) as Json[]) {
      if (deployment.environment !== environment) continue;
      await this.call('set deployment status', route, () =>
        this.octokit.request(route, {
          owner: repo.owner,
          repo: repo.repo,
          deployment_id: Number(deployment.id),
          state: 'inactive',
          description: 'preview removed',
          request: { signal },
        }),
      );
    }
  }

  /** A file of the default branch (the contents API, the same on GitHub and Gitea); undefined when it is not there. */
  async readFile(repo: RepoRef, filePath: string, signal?: AbortSignal): Promise<string | undefined> {
    // Each segment encoded on its own: Octokit's `{path}` would encode the slashes too.
    const encoded = filePath.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
    const route = `GET /repos/{owner}/{repo}/contents/${encoded}`;
    const response = await this.call(`read ${filePath}`, route, () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, request: { signal } }), [404]);
    const body = response?.data as Json | undefined;
    if (!body || Array.isArray(body) || typeof body.content !== 'string') return undefined;
    return body.encoding === 'base64' ? Buffer.from(body.content, 'base64').toString('utf8') : body.content;
  }

  async listBranches(repo: RepoRef, signal?: AbortSignal): Promise<string[]> {
    const route = 'GET /repos/{owner}/{repo}/branches';
    const raw = await this.call('list branches', route, () => this.octokit.paginate(route, { owner: repo.owner, repo: repo.repo, ...this.pageSize(), request: { signal } }));
    return ((raw ?? []) as Json[]).map((branch) => branch.name).filter((name): name is string => typeof name === 'string');
  }

  /** GitHub's page size parameter; Gitea's differs. */
  protected pageSize(): Record<string, number> {
    return { per_page: 100 };
  }

  /**
   * `GET /repos/{owner}/{repo}/issues/comments/{comment_id}` (docs.github.com/en/rest/issues/comments#get-an-issue-comment):
   * the comment with `user.type`, `author_association` and `issue_url`, the API address of the issue
   * or pull request it is on (`…/issues/{number}`). 404 when the repository has no such comment.
   */
  async getComment(repo: RepoRef, id: number, signal?: AbortSignal): Promise<CommentDetail | undefined> {
    const route = 'GET /repos/{owner}/{repo}/issues/comments/{comment_id}';
    const response = await this.call('get comment', route, () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, comment_id: id, request: { signal } }), [404]);
    if (!response || response.status !== 200) return undefined;
    return this.commentDetail(response.data as Json);
  }

  protected commentDetail(raw: Json): CommentDetail {
    const user = (raw.user ?? {}) as Json;
    return {
      ...toComment(raw),
      onNumber: numberAtEnd(raw.issue_url, 'issues'),
      userType: typeof user.type === 'string' ? user.type : undefined,
      authorAssociation: typeof raw.author_association === 'string' ? raw.author_association : undefined,
      updatedAt: typeof raw.updated_at === 'string' ? raw.updated_at : undefined,
    };
  }

  /**
   * `GET /repos/{owner}/{repo}/collaborators/{username}/permission`, the same route on Gitea
   * (docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user;
   * go-gitea/gitea@000762f8:routers/api/v1/repo/collaborators.go GetRepoPermissions). A user the
   * forge does not know (404) has no permission.
   */
  async userPermission(repo: RepoRef, login: string, signal?: AbortSignal): Promise<string> {
    const route = 'GET /repos/{owner}/{repo}/collaborators/{username}/permission';
    const response = await this.call(
      'get permission',
      route,
      () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, username: login, request: { signal } }),
      [404],
    );
    const permission = (response?.data as Json | undefined)?.permission;
    return typeof permission === 'string' ? permission : 'none';
  }

  /**
   * `POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions` with `{content}`: 201 when
   * made, 200 when it already was (docs.github.com/en/rest/reactions/reactions#create-reaction-for-an-issue-comment).
   * The same route and body on Gitea (go-gitea/gitea@000762f8:routers/api/v1/repo/issue_reaction.go PostIssueCommentReaction).
   */
  async addCommentReaction(repo: RepoRef, commentId: number, content: CommandReaction, signal?: AbortSignal): Promise<void> {
    const route = 'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions';
    await this.call('add reaction', route, () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, comment_id: commentId, content, request: { signal } }));
  }

  /** `GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions`, every page (docs.github.com/en/rest/reactions/reactions#list-reactions-for-an-issue-comment). */
  async listCommentReactions(repo: RepoRef, commentId: number, signal?: AbortSignal): Promise<CommentReaction[]> {
    const route = 'GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions';
    const raw = await this.call('list reactions', route, () =>
      this.octokit.paginate(route, { owner: repo.owner, repo: repo.repo, comment_id: commentId, per_page: 100, request: { signal } }),
    );
    return ((raw ?? []) as Json[]).map(toReaction);
  }

  async branchExists(repo: RepoRef, branch: string, signal?: AbortSignal): Promise<boolean> {
    const route = 'GET /repos/{owner}/{repo}/branches/{branch}';
    const response = await this.call('get branch', route, () => this.octokit.request(route, { owner: repo.owner, repo: repo.repo, branch, request: { signal } }), [404]);
    return response !== undefined;
  }
}

export function toComment(raw: Json): ForgeComment {
  return {
    id: Number(raw.id),
    body: String(raw.body ?? ''),
    createdAt: typeof raw.created_at === 'string' ? raw.created_at : undefined,
    user: typeof (raw.user as Json | undefined)?.login === 'string' ? String((raw.user as Json).login) : undefined,
  };
}

export function toReaction(raw: Json): CommentReaction {
  const login = (raw.user as Json | undefined)?.login;
  return { content: String(raw.content ?? ''), user: typeof login === 'string' ? login : undefined };
}

/** The number at the end of a forge link to an issue or pull request (`…/issues/12`, `…/pulls/12`). */
export function numberAtEnd(url: unknown, segment: 'issues' | 'pulls'): number | undefined {
  if (typeof url !== 'string') return undefined;
  const match = new RegExp(`/${segment}/(\\d+)/?$`).exec(url);
  return match ? Number(match[1]) : undefined;
}

function fullName(repo: unknown): string | undefined {
  const name = (repo as Json | undefined)?.full_name;
  return typeof name === 'string' ? name : undefined;
}
