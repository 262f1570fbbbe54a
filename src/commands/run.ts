/**
 * Running one `/preview` command, for either door: confirm it against the forge (`confirm.ts`), pin
 * the pull request's head, acknowledge with 👀, do it, answer with a new comment quoting it, and
 * react 🚀 (done) or 😕 (not done).
 *
 * Retries: everything before the 👀 only reads, so a failed attempt is retried as a teardown is;
 * from the 👀 on, a failure is answered in the thread instead of retried (an `ask` sent twice is
 * two turns the agent answers, and bills, twice). A command whose answer is already on the comment
 * (after a replica died, say) is not run again.
 */
import type { Logger } from 'probot';
import type { AccessFor, PlatformFor, PullRequestNow, RepoAccess } from '../app/deliveries.js';
import type { BackgroundTask } from '../app/background.js';
import { DeliveryRefused } from '../app/deliveries.js';
import { InputError } from '../errors.js';
import type { CommandReaction, Forge } from '../forge/forge.js';
import { resolvePreviewLabel } from '../pipeline/label.js';
import { redact } from '../secrets/redact.js';
import { askCommand } from './ask.js';
import { alreadyAnswered, checkPermission, confirmComment, RefusalMemory } from './confirm.js';
import { DEFAULT_COMMAND_TIMING, type CommandResult, type CommandRun, type CommandTiming } from './context.js';
import type { ConversationStore } from './conversations.js';
import { destroyCommand } from './destroy.js';
import { commandKey, describeCommand, type CommandJob } from './job.js';
import type { ParsedCommand } from './parse.js';
import { extendCommand, redeployCommand } from './redeploy.js';
import { helpBody, plain, renderReply } from './reply.js';

/** Where a command's repository is reached: the door's own credentials, as for a teardown. */
export type CommandAccessFor = AccessFor;

export interface CommandTaskOptions {
  accessFor: CommandAccessFor;
  platformFor: PlatformFor;
  conversations: ConversationStore;
  refusals: RefusalMemory;
  timing?: Partial<CommandTiming>;
}

export function commandTask(job: CommandJob, log: Logger, options: CommandTaskOptions): BackgroundTask {
  return { key: commandKey(job), lane: job.door, what: describeCommand(job), log, run: (_attempt, signal) => runCommand(job, log, options, signal) };
}

export async function runCommand(job: CommandJob, log: Logger, options: CommandTaskOptions, signal: AbortSignal): Promise<void> {
  const what = describeCommand(job);
  const access = await options.accessFor(job, signal);
  const forge = await access.forge(signal);
  if (!forge) throw new DeliveryRefused(`no forge client for ${job.repository.htmlUrl}`);
  const confirmed = await confirmComment(job, access, forge, signal);
  if ('ignore' in confirmed) {
    log.warn({ task: what }, `${what}: ignored: ${confirmed.ignore}`);
    return;
  }
  if (await alreadyAnswered(forge, access, job.comment.id, signal)) {
    log.info({ task: what }, `${what}: already answered; not run again`);
    return;
  }
  const { comment, parsed } = confirmed;
  const pr = { ...access.repoRef, number: job.number };
  const permission = await checkPermission(job, access, forge, comment, signal);
  if ('unknown' in permission) {
    log.error({ task: what }, `${what}: ${permission.unknown}`);
    await answer(forge, pr, job, parsed, { ok: false, body: `😕 ${plain(`Nothing was done: ${permission.unknown}.`)}` }, log, signal);
    return;
  }
  if (!permission.allowed) {
    log.info({ task: what, user: comment.user }, `${what}: refused: ${comment.user} may not push to the repository (${permission.why})`);
    if (options.refusals.firstIn(`${commandKey(job)}:${comment.user.toLowerCase()}`)) await forge.createComment(pr, renderReply(parsed.line, REFUSAL), signal);
    return;
  }
  const pull = await access.pullRequest(job.number, signal);
  await react(forge, access, job, 'eyes', log, signal);
  const result = await execute(job, parsed, { access, forge, pull, reviewer: comment.user, log, signal, options });
  await answer(forge, pr, job, parsed, result, log, signal);
  log.info({ task: what, ok: result.ok }, `${what}: ${result.ok ? 'done' : 'not done'}; answered in the thread`);
}

const REFUSAL = 'Sorry, only people who can push to this repository can use `/preview` commands, so nothing was done. A maintainer can run the command for you.';

interface Started {
  access: RepoAccess;
  forge: Forge;
  pull: PullRequestNow;
  reviewer: string;
  log: Logger;
  signal: AbortSignal;
  options: CommandTaskOptions;
}

/** The command's work; a failure becomes the answer (nothing here is retried). */
async function execute(job: CommandJob, parsed: ParsedCommand, started: Started): Promise<CommandResult> {
  const { command } = parsed;
  if (command.name === 'help') return { ok: true, body: helpBody() };
  if (command.name === 'unknown') return { ok: false, body: helpBody(`😕 ${plain(`"${command.word}" is not a /preview command.`)}`) };
  if (command.name === 'invalid') return { ok: false, body: helpBody(`😕 ${plain(`/preview ${command.command}: ${command.problem}`)}`) };
  if (started.pull.state !== 'open')
    return { ok: false, body: `😕 ${plain(`pull request #${job.number} is closed: its previews were removed when it closed, and nothing was done.`)}` };
  try {
    const run = await commandRun(job, started);
    switch (command.name) {
      case 'ask':
        return await askCommand(run, command.text);
      case 'extend':
        return await extendCommand(run, command.durationMs);
      case 'redeploy':
        return await redeployCommand(run, command.agent);
      case 'destroy':
        return await destroyCommand(run);
    }
  } catch (err) {
    started.signal.throwIfAborted();
    const message = redact(err instanceof Error ? err.message : String(err));
    started.log.error({ task: describeCommand(job), error: message }, `${describeCommand(job)} failed: ${message}`);
    const lead = err instanceof InputError ? "the repository's settings are wrong" : 'it failed';
    return { ok: false, body: `😕 ${plain(`Nothing more was done: ${lead}: ${message}`)}` };
  }
}

/** The repository's config, platform and label, read now (a config error is answered, not retried). */
async function commandRun(job: CommandJob, started: Started): Promise<CommandRun> {
  const { access, pull, signal, options } = started;
  const config = await access.loadConfig(signal);
  const platform = options.platformFor(config.platform);
  const labels = resolvePreviewLabel(config.labelTemplate, { number: job.number, branch: pull.headRef, sha: pull.headSha }, 'preview-label', platform.labelRule, access.repo);
  return {
    ...started,
    job,
    config,
    platform,
    labels,
    conversations: options.conversations,
    timing: { ...DEFAULT_COMMAND_TIMING, ...options.timing },
  };
}

async function answer(
  forge: Forge,
  pr: { owner: string; repo: string; number: number },
  job: CommandJob,
  parsed: ParsedCommand,
  result: CommandResult,
  log: Logger,
  signal: AbortSignal,
) {
  try {
    await forge.createComment(pr, renderReply(parsed.line, result.body), signal);
  } catch (err) {
    log.error({ task: describeCommand(job) }, `${describeCommand(job)}: the answer could not be posted: ${redact((err as Error).message)}`);
  }
  await react(forge, { repoRef: pr }, job, result.ok ? 'rocket' : 'confused', log, signal);
}

/** Reactions are acknowledgements: one the forge refuses (a Gitea that allows other reactions) is logged, never a failure of the command. */
async function react(forge: Forge, access: Pick<RepoAccess, 'repoRef'>, job: CommandJob, content: CommandReaction, log: Logger, signal: AbortSignal): Promise<void> {
  await forge
    .addCommentReaction(access.repoRef, job.comment.id, content, signal)
    .catch((err: Error) => log.warn({ task: describeCommand(job) }, `${describeCommand(job)}: the ${content} reaction could not be added: ${redact(err.message)}`));
}
