/**
 * Reviewers' `/preview` commands in pull request comments (docs/commands.md), a part of the app
 * like the closes: `issue_comment.created`, registered once on the router for both doors (GitHub
 * sends it with `issue.pull_request` on a pull request's comment, Gitea and Forgejo with `is_pull`),
 * becomes a `CommandJob` on the command queue, and the delivery is answered once the job is
 * accepted. The job does the rest (`commands/run.ts`): it asks the forge whether the comment is
 * real, unchanged, by someone who may push, and what the pull request's head is, then acts and
 * answers in the thread.
 */
import type { Logger } from 'probot';
import { RefusalMemory } from '../commands/confirm.js';
import { MemoryConversationStore, type ConversationStore } from '../commands/conversations.js';
import type { CommandTiming } from '../commands/context.js';
import { commandJobOf, describeCommand } from '../commands/job.js';
import { MemoryCommandQueue, type CommandQueue, type CommandTaskFor } from '../commands/queue.js';
import { commandTask } from '../commands/run.js';
import type { BackgroundRetry } from './background.js';
import type { AccessFor, DoorName, PlatformFor } from './deliveries.js';
import type { DeliveryRouter } from './router.js';

export function handleCommands(router: DeliveryRouter, queue: CommandQueue): void {
  router.on('issue_comment.created', async (delivery) => {
    const { door, id, bodyDigest, installationId, log } = delivery;
    const job = commandJobOf({ door, deliveryId: id, bodyDigest, installationId, payload: delivery.payload as Record<string, unknown> });
    if ('ignored' in job) {
      log.debug(`delivery ${id} needs no work: ${job.ignored}`);
      return;
    }
    const outcome = await queue.enqueue(job, log);
    delivery.acknowledge(outcome);
    log.info(
      { repo: `${job.repository.owner}/${job.repository.name}`, pull: job.number, comment: job.comment.id, outcome },
      `${describeCommand(job)}: ${outcome === 'duplicate' ? 'already received; ignored' : 'queued'}`,
    );
  });
}

export interface CommandSettings {
  /** REDIS_URL: commands become durable BullMQ jobs, and conversations are kept there too. */
  redisUrl?: string;
  retry?: Partial<BackgroundRetry>;
  takeoverMs?: number;
  /** COMMAND_POLL_INTERVAL and the like: how commands wait on the platform. */
  commandTiming?: Partial<CommandTiming>;
}

export interface CommandParts {
  doors: { open: DoorName[]; accessFor: AccessFor };
  platformFor: PlatformFor;
  log: Logger;
}

/**
 * Where commands wait and reviewers' conversations are kept: Redis with REDIS_URL (BullMQ and
 * ioredis load only then), this process otherwise. A command's attempt may wait as long as a deploy
 * does, so its timeout is its own (`COMMAND_ATTEMPT_TIMEOUT_MS`), not a teardown's.
 */
export async function openCommands(settings: CommandSettings, parts: CommandParts): Promise<CommandQueue> {
  const { attemptTimeoutMs: _teardownTimeout, ...retry } = settings.retry ?? {};
  const refusals = new RefusalMemory();
  const taskFor =
    (conversations: ConversationStore): CommandTaskFor =>
    (job, log) =>
      commandTask(job, log, { accessFor: parts.doors.accessFor, platformFor: parts.platformFor, conversations, refusals, timing: settings.commandTiming });
  if (!settings.redisUrl) return new MemoryCommandQueue(taskFor(new MemoryConversationStore()), retry);
  const { DurableCommandQueue } = await import('../commands/durable-queue.js');
  // Its tasks keep conversations in its own Redis connection; a task runs only once the queue exists.
  const durable: InstanceType<typeof DurableCommandQueue> = new DurableCommandQueue({
    redisUrl: settings.redisUrl,
    lanes: parts.doors.open,
    taskFor: (job, log) => taskFor(durable.conversations)(job, log),
    log: parts.log,
    retry,
    takeoverMs: settings.takeoverMs,
  });
  return durable;
}
