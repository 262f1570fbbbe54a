/**
 * A `/preview` command as the doors hand it on: plain data, so that it can wait in memory or in
 * Redis and any replica can run it. It carries only where to look (repository, pull request,
 * comment id) and what the delivery said; who wrote the comment, what it says now, whether they may
 * act and what the pull request's head is are all asked of the forge when the command runs
 * (`confirm.ts`), never taken from the delivery.
 */
import { createHash } from 'node:crypto';
import { parseCommand } from './parse.js';

export interface CommandJob {
  door: 'github' | 'gitea';
  deliveryId: string;
  /** SHA-256 of the signed body: a replay under a fresh delivery id is the same body. */
  bodyDigest?: string;
  /** The GitHub App installation the delivery names; absent for Gitea and for a token-run app. */
  installationId?: number;
  repository: { owner: string; name: string; htmlUrl: string };
  /** The pull request commented on. */
  number: number;
  /** The comment as the delivery named it; `line` is its first line, the command it claims. */
  comment: { id: number; author: string; line: string };
}

/** Why a delivery carries no command: said in the log, nothing else happens. */
export type NoCommand = { ignored: string };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- webhook payloads are untyped JSON, read field by field
type Json = Record<string, any>;

/** A verified `issue_comment` delivery, as a door hands it on (the router's `DeliveryContext` has these). */
export interface DeliveredComment {
  door: CommandJob['door'];
  deliveryId: string;
  bodyDigest: string;
  installationId?: number;
  payload: Json;
}

/**
 * The command an `issue_comment` delivery carries, written once for both forges:
 * - GitHub (docs.github.com/en/webhooks/webhook-events-and-payloads#issue_comment): a comment on a
 *   pull request has `issue.pull_request`; a bot's has `comment.user.type` `Bot`;
 * - Gitea and Forgejo send `X-Gitea-Event: issue_comment` for comments on issues and pull requests
 *   alike (go-gitea/gitea@06c5f30f:modules/webhook/type.go HookEventType.Event) with
 *   IssueCommentPayload {action, issue, comment, repository, sender, is_pull}
 *   (go-gitea/gitea@040cb8b6:modules/structs/hook.go); its issue has `pull_request` too.
 * Only `created` counts (an `edited` comment never runs a command), only on a pull request, only
 * from someone the payload does not already show to be a bot, and only when the first line is a
 * `/preview` command. The rest is asked of the forge when the command runs.
 */
export function commandJobOf(delivered: DeliveredComment): CommandJob | NoCommand {
  const { payload } = delivered;
  if (payload.action !== 'created') return { ignored: `the comment was ${payload.action ?? 'changed'}, not created` };
  if (!payload.issue?.pull_request && payload.is_pull !== true) return { ignored: 'the comment is on an issue, not a pull request' };
  const user = payload.comment?.user ?? {};
  if (user.type === 'Bot' || String(user.login ?? '').endsWith('[bot]')) return { ignored: `the comment is by a bot (${user.login})` };
  const body = payload.comment?.body;
  const parsed = typeof body === 'string' ? parseCommand(body) : undefined;
  if (!parsed) return { ignored: 'the comment holds no /preview command' };
  const repository = repositoryOf(payload.repository);
  const id = Number(payload.comment?.id);
  const number = Number(payload.issue?.number);
  const author = user.login;
  if (!repository) return { ignored: 'the delivery names no repository (owner, name and html_url)' };
  if (!Number.isSafeInteger(id) || id < 1 || typeof author !== 'string' || !author) return { ignored: 'the delivery names no comment id or author' };
  if (!Number.isSafeInteger(number) || number < 1) return { ignored: 'the delivery names no pull request number' };
  const { door, deliveryId, bodyDigest, installationId } = delivered;
  return { door, deliveryId, bodyDigest, ...(installationId === undefined ? {} : { installationId }), repository, number, comment: { id, author, line: parsed.line } };
}

function repositoryOf(repository: Json | undefined): CommandJob['repository'] | undefined {
  const owner = repository?.owner?.login ?? repository?.owner?.username;
  const name = repository?.name;
  const htmlUrl = repository?.html_url;
  if (typeof owner !== 'string' || typeof name !== 'string' || typeof htmlUrl !== 'string' || !URL.canParse(htmlUrl)) return undefined;
  return { owner, name, htmlUrl };
}

/** Commands of one pull request run one after another, whichever delivery brought them. */
export function commandKey(job: Pick<CommandJob, 'door' | 'repository' | 'number'>): string {
  return `${job.door}:${job.repository.htmlUrl.toLowerCase()}#pr-${job.number}`;
}

/**
 * What makes two deliveries the same command: the delivery id, the signed body, and the comment
 * itself (one comment runs at most once, however it is delivered again).
 */
export function commandDeliveryKeys(job: CommandJob): string[] {
  return [
    `${job.door}:id:${job.deliveryId}`,
    ...(job.bodyDigest ? [`${job.door}:body:${job.bodyDigest}`] : []),
    `${job.door}:comment:${job.repository.htmlUrl.toLowerCase()}:${job.comment.id}`,
  ];
}

export function describeCommand(job: CommandJob): string {
  return `command ${JSON.stringify(job.comment.line.slice(0, 80))} on ${job.repository.owner}/${job.repository.name}#${job.number} (comment ${job.comment.id}, delivery ${job.deliveryId})`;
}

/** The SHA-256 of a delivery's body text. */
export function bodyDigestOf(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
