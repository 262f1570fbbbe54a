import type { CommentDetail, CommentReaction, PreviewStatus, PullRef, RepoRef, ForgeComment, ForgeKind } from './forge.js';
import { GitHubForge, numberAtEnd, toComment, toReaction } from './github.js';

/**
 * The logins Gitea and Forgejo Actions write as with the job token: Gitea's built-in actions user
 * (go-gitea/gitea@033d34b1e802e5c295d45e82465220ab5f14ba02:models/user/user_system.go,
 * `ActionsUserName = "gitea-actions"`) and Forgejo's `forgejo-actions`. ASSUMED for Forgejo: its
 * source lives on Codeberg, out of reach here; third-party code lists both names among Forgejo's
 * reserved user names. Both are accepted on either server, so a wrong guess only misses a match.
 */
export const GITEA_ACTIONS_LOGINS = ['gitea-actions', 'forgejo-actions'];

/**
 * Gitea and Forgejo on the same Octokit, at `<instance>/api/v1` (`giteaApiUrl`). Where the routes
 * agree with GitHub's (comments, pulls, contents, branches) the GitHub adapter's code runs; the
 * differences live here:
 * - no deployments API: the preview link is a commit status per environment;
 * - the issue comment list is not paginated (it takes only `since`/`before`:
 *   go-gitea/gitea@000d87efe1d99de1447631a94138995067480465:routers/api/v1/repo/issue_comment.go, ListIssueComments);
 * - list pages are sized with `limit`, not `per_page` (go-gitea/gitea@046fe6cc6abf09e7871e97704cad98e0491de714:routers/api/v1/utils/page.go, GetListOptions);
 * - a push to a PR arrives as `synchronized` (handled by the doors' event readers);
 * - a comment names its pull request in `pull_request_url` (its web page, `…/pulls/{index}`) and
 *   leaves `issue_url` empty, and the other way round on an issue; a comment that is not a plain
 *   comment answers 204 (go-gitea/gitea@000d87ef:routers/api/v1/repo/issue_comment.go GetIssueComment,
 *   services/convert ToAPIComment, models/issues/comment.go IssueURL and PRURL);
 * - a comment's reactions come in one list, unpaginated
 *   (go-gitea/gitea@000762f8:routers/api/v1/repo/issue_reaction.go GetIssueCommentReactions).
 */
export class GiteaForge extends GitHubForge {
  override readonly kind: ForgeKind = 'gitea';

  override async listComments(pr: PullRef, signal?: AbortSignal): Promise<ForgeComment[]> {
    const route = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments';
    const response = await this.call('list PR comments', route, () =>
      this.octokit.request(route, { owner: pr.owner, repo: pr.repo, issue_number: pr.number, request: { signal } }),
    );
    const raw = response?.data;
    return (Array.isArray(raw) ? raw : []).map((comment) => toComment(comment as Record<string, unknown>));
  }

  override async setPreviewStatus(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<void> {
    const route = 'POST /repos/{owner}/{repo}/statuses/{sha}';
    await this.call('set commit status', route, () =>
      this.octokit.request(route, {
        owner: repo.owner,
        repo: repo.repo,
        sha: status.sha,
        state: status.state === 'in_progress' ? 'pending' : status.state === 'inactive' ? 'success' : status.state,
        target_url: status.url ?? status.logUrl ?? '',
        description: status.description.slice(0, 139),
        context: status.environment,
        request: { signal },
      }),
    );
  }

  protected override commentDetail(raw: Record<string, unknown>): CommentDetail {
    const pullNumber = numberAtEnd(raw.pull_request_url, 'pulls');
    return {
      ...toComment(raw),
      onNumber: pullNumber ?? numberAtEnd(raw.issue_url, 'issues'),
      onPullRequest: pullNumber !== undefined,
      updatedAt: typeof raw.updated_at === 'string' ? raw.updated_at : undefined,
    };
  }

  override async listCommentReactions(repo: RepoRef, commentId: number, signal?: AbortSignal): Promise<CommentReaction[]> {
    const route = 'GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions';
    const response = await this.call('list reactions', route, () =>
      this.octokit.request(route, { owner: repo.owner, repo: repo.repo, comment_id: commentId, request: { signal } }),
    );
    const raw = response?.data;
    return (Array.isArray(raw) ? raw : []).map((reaction) => toReaction(reaction as Record<string, unknown>));
  }

  /** A commit status is history on Gitea: nothing to deactivate. */
  override async deactivateEnvironment(): Promise<void> {}

  protected override defaultAuthors(): string[] {
    return GITEA_ACTIONS_LOGINS;
  }

  protected override pageSize(): Record<string, number> {
    return { limit: 50 };
  }
}
