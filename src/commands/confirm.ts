/**
 * A command is acted on only as the forge tells it, never as the delivery does: the comment must
 * exist in the repository, on the pull request the delivery names, by the author it names, and
 * still say the command the delivery carried (an edit since means it is ignored); it must be recent
 * (a delivery replayed after the deduplication window finds it too old), by a person (no bot, ours
 * included), and its author must be able to push to the repository.
 */
import type { RepoAccess } from '../app/deliveries.js';
import { ApiError } from '../errors.js';
import type { CommentDetail, Forge } from '../forge/forge.js';
import type { CommandJob } from './job.js';
import { parseCommand, type ParsedCommand } from './parse.js';
import { associationMayPush, isBotAuthor, mayAct } from './permission.js';

/** A comment older than this is not acted on: the deliveries of the last 24 hours are remembered (`commandDeliveryKeys`), older ones are not. */
export const COMMAND_MAX_AGE_MS = 24 * 3_600_000;

export type Confirmation = { ignore: string } | { comment: CommentDetail & { user: string }; parsed: ParsedCommand };

export async function confirmComment(job: CommandJob, access: RepoAccess, forge: Forge, signal: AbortSignal, now = Date.now()): Promise<Confirmation> {
  const comment = await forge.getComment(access.repoRef, job.comment.id, signal);
  const where = `${access.repoRef.owner}/${access.repoRef.repo}`;
  if (!comment) return { ignore: `the forge has no comment ${job.comment.id} in ${where}` };
  if (comment.onNumber !== job.number || comment.onPullRequest === false) {
    return { ignore: `comment ${job.comment.id} is on ${comment.onPullRequest === false ? 'issue' : ''}#${comment.onNumber ?? '?'}, not on pull request #${job.number}` };
  }
  if (!comment.user || comment.user.toLowerCase() !== job.comment.author.toLowerCase()) {
    return { ignore: `comment ${job.comment.id} is by ${comment.user ?? 'nobody known'}, not by ${job.comment.author} as the delivery says` };
  }
  const parsed = parseCommand(comment.body);
  if (!parsed || parsed.line !== job.comment.line) return { ignore: `comment ${job.comment.id} no longer says what the delivery carried (it was edited)` };
  const created = comment.createdAt ? Date.parse(comment.createdAt) : Number.NaN;
  if (!Number.isFinite(created) || now - created > COMMAND_MAX_AGE_MS)
    return { ignore: `comment ${job.comment.id} was written ${comment.createdAt ?? 'at an unknown time'}, over 24 hours ago` };
  if (isBotAuthor({ login: comment.user, type: comment.userType }, await forge.commentAuthors(signal)))
    return { ignore: `comment ${job.comment.id} is by a bot (${comment.user})` };
  return { comment: { ...comment, user: comment.user }, parsed };
}

export type PermissionCheck = { allowed: true } | { allowed: false; why: string } | { unknown: string };

/** Whether the comment's author may push, asked of the forge (`permission.ts` has the rules). */
export async function checkPermission(job: CommandJob, access: RepoAccess, forge: Forge, comment: CommentDetail & { user: string }, signal: AbortSignal): Promise<PermissionCheck> {
  if (job.door === 'github' && !associationMayPush(comment.authorAssociation)) return { allowed: false, why: `author_association is ${comment.authorAssociation ?? 'missing'}` };
  let permission: string;
  try {
    permission = await forge.userPermission(access.repoRef, comment.user, signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      const who = job.door === 'gitea' ? "GITEA_TOKEN's user must be an admin of the repository" : 'the app needs the Metadata (read) permission';
      return { unknown: `the forge refused to tell ${comment.user}'s permission on the repository (${who}): ${err.detail}` };
    }
    throw err;
  }
  const verdict = mayAct(job.door, { authorAssociation: comment.authorAssociation, permission });
  return verdict.allowed ? { allowed: true } : { allowed: false, why: verdict.why ?? `permission is ${permission}` };
}

/** Whether we already answered this comment (our 🚀 or 😕 is on it): a command taken over after a crash is not run twice. */
export async function alreadyAnswered(forge: Forge, access: RepoAccess, commentId: number, signal: AbortSignal): Promise<boolean> {
  const ours = await forge.commentAuthors(signal);
  const reactions = await forge.listCommentReactions(access.repoRef, commentId, signal);
  return reactions.some((reaction) => (reaction.content === 'rocket' || reaction.content === 'confused') && reaction.user && ours.includes(reaction.user.toLowerCase()));
}

/**
 * At most one refusal per person, pull request and `windowMs` (ten minutes): someone without access
 * who posts commands again and again gets one polite answer, not one each. In memory: a restart, or
 * another replica, may answer once more.
 */
export class RefusalMemory {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs = 10 * 60_000) {}

  firstIn(key: string, now = Date.now()): boolean {
    for (const [oldest, at] of this.last) {
      if (now - at < this.windowMs) break;
      this.last.delete(oldest);
    }
    if (this.last.has(key)) return false;
    this.last.set(key, now);
    return true;
  }
}
