/**
 * What the action and the app need from a code forge. GitHub and Gitea differ only behind this:
 * Gitea has no deployments API, so a commit status carries the preview link there.
 */
export type ForgeKind = 'github' | 'gitea';

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface PullRef extends RepoRef {
  number: number;
}

export interface ForgeComment {
  id: number;
  body: string;
  createdAt?: string;
  user?: string;
}

/** One comment as the forge answers for it now (`Forge.getComment`). */
export interface CommentDetail extends ForgeComment {
  /** The pull request (or issue) number it was written on, from the forge's own link to it. */
  onNumber?: number;
  /** Whether the forge says it was written on a pull request (Gitea says so; on GitHub every pull request is an issue, so undefined). */
  onPullRequest?: boolean;
  /** GitHub's `user.type` (`User`, `Bot`, `Organization`); Gitea does not say. */
  userType?: string;
  /** GitHub's `author_association` (`OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, …); Gitea has none. */
  authorAssociation?: string;
  updatedAt?: string;
}

/** The reactions agent-preview gives a command: 👀 on receipt, then 🚀 done or 😕 not done. */
export type CommandReaction = 'eyes' | 'rocket' | 'confused';

export interface CommentReaction {
  content: string;
  user?: string;
}

export interface PullRequestInfo {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  headSha: string;
  headRef: string;
  /** owner/name of the head repository; differs from the base for forks. */
  headRepo?: string;
  baseRepo?: string;
}

export type PreviewState = 'in_progress' | 'success' | 'failure' | 'inactive';

export interface PreviewStatus {
  state: PreviewState;
  /** `preview/pr-12/hello-agent` */
  environment: string;
  sha: string;
  url?: string;
  logUrl?: string;
  description: string;
}

/** A commit status's states where GitHub and Gitea agree (Gitea also has `warning`). */
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** A plain commit status: one line on the commit (and on its pull request) under a context name. */
export interface CommitStatus {
  sha: string;
  state: CommitState;
  /** `agent-preview/smoke`: a later status of the same context replaces it. */
  context: string;
  /** At most 140 characters on GitHub; longer is cut. */
  description: string;
  targetUrl?: string;
}

export interface Forge {
  readonly kind: ForgeKind;
  listComments(pr: PullRef, signal?: AbortSignal): Promise<ForgeComment[]>;
  createComment(pr: PullRef, body: string, signal?: AbortSignal): Promise<ForgeComment>;
  /** False when the comment no longer exists (someone deleted it). */
  updateComment(repo: RepoRef, id: number, body: string, signal?: AbortSignal): Promise<boolean>;
  /** Lower-cased logins whose comments may be ours: the identities our writes appear as. */
  commentAuthors(signal?: AbortSignal): Promise<string[]>;
  /** Already deleted counts as done. */
  deleteComment(repo: RepoRef, id: number, signal?: AbortSignal): Promise<void>;
  getPullRequest(pr: PullRef, signal?: AbortSignal): Promise<PullRequestInfo>;
  /** A deployment with a status on GitHub; a commit status on Gitea. */
  setPreviewStatus(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<void>;
  /** A commit status on the commit, the same call on GitHub and Gitea. */
  setCommitStatus(repo: RepoRef, status: CommitStatus, signal?: AbortSignal): Promise<void>;
  /** Marks every deployment of the environment inactive (GitHub); a commit status is left as history on Gitea. */
  deactivateEnvironment(repo: RepoRef, environment: string, signal?: AbortSignal): Promise<void>;
  branchExists(repo: RepoRef, branch: string, signal?: AbortSignal): Promise<boolean>;
  /** Every branch name of the repository, across all pages. */
  listBranches(repo: RepoRef, signal?: AbortSignal): Promise<string[]>;
  /** One issue or pull request comment as it is now; undefined when the forge has no such (plain) comment in this repository. */
  getComment(repo: RepoRef, id: number, signal?: AbortSignal): Promise<CommentDetail | undefined>;
  /** The user's permission on the repository, in the forge's words (`admin`, `write`, `read`, `none`, …; see `commands/permission.ts`). */
  userPermission(repo: RepoRef, login: string, signal?: AbortSignal): Promise<string>;
  /** Adds our reaction to a comment; one already there counts as done. */
  addCommentReaction(repo: RepoRef, commentId: number, content: CommandReaction, signal?: AbortSignal): Promise<void>;
  /** Every reaction on a comment, with who gave it. */
  listCommentReactions(repo: RepoRef, commentId: number, signal?: AbortSignal): Promise<CommentReaction[]>;
}
