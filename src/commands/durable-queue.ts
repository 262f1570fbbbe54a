/**
 * Commands as durable BullMQ jobs in Redis (`REDIS_URL`), beside the teardowns (`app/durable.ts`,
 * whose design this follows, on the same lanes: `app/durable-lanes.ts`): a delivery is acknowledged once its job is stored, any replica runs
 * it, and one whose replica died is taken over once its lock lapses.
 *
 * - One job per comment: the job id is the comment (door, repository, comment id), and BullMQ stores
 *   no second job under an id it holds (docs.bullmq.io/guide/jobs/job-ids), so a redelivery, a replay
 *   under a fresh delivery id or a second delivery of the same comment is a duplicate. Finished jobs
 *   are kept for 24 hours, the deduplication window.
 * - One command at a time per pull request, across replicas: a job first takes the pull request's
 *   lock in Redis (`SET key token NX PX`, renewed while it runs, released only by its holder); a job
 *   that finds it taken goes back to wait, delayed by a second (`job.moveToDelayed` then
 *   `DelayedError`, docs.bullmq.io/guide/patterns/process-step-jobs), without spending an attempt.
 *   OSS BullMQ has no per-group concurrency (that is BullMQ Pro's groups), hence the lock.
 * - The conversations of `/preview ask` are kept in the same Redis (`conversations.ts`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'probot';
import { DEFAULT_BACKGROUND_RETRY, DEFAULT_TEARDOWN_GRACE_MS, type StopReport } from '../app/background.js';
import { DurableLanes, type AttemptFailure, type DurableQueueSettings } from '../app/durable-lanes.js';
import { RedisConversationStore } from './conversations.js';
import { commandKey, describeCommand, type CommandJob } from './job.js';
import { COMMAND_ATTEMPT_TIMEOUT_MS, type CommandQueue } from './queue.js';

export const COMMAND_QUEUE_PREFIX = 'agent-preview-commands';
const LOCK_PREFIX = 'agent-preview:command-lock:';
const DEDUP_WINDOW_MS = 24 * 3_600_000;
/** How long a pull request's lock outlives a replica that stopped renewing it. */
const LOCK_MS = 30_000;
const LOCK_WAIT_MS = 1_000;

/** Deletes the key only if it still holds our token (the usual Redis lock release). */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export type DurableCommandQueueOptions = DurableQueueSettings<CommandJob>;

/** One BullMQ job id per comment (ids take no colon). */
function jobIdOf(job: CommandJob): string {
  const repo = createHash('sha256').update(job.repository.htmlUrl.toLowerCase()).digest('hex').slice(0, 24);
  return `${job.door}-comment-${repo}-${job.comment.id}`;
}

function reportFailure(log: Logger, { what, attempt, message, invalidInput, cutOff }: AttemptFailure): void {
  if (invalidInput) log.error({ task: what, attempt, error: message }, `${what} failed: ${message}`);
  else log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} failed${cutOff ? ' (cut off by shutdown)' : ''}`);
}

export class DurableCommandQueue implements CommandQueue {
  private readonly lanes: DurableLanes<CommandJob>;
  /** Where `/preview ask` keeps each reviewer's conversation: this Redis. */
  readonly conversations: RedisConversationStore;

  constructor(options: DurableCommandQueueOptions) {
    this.lanes = new DurableLanes({
      ...options,
      queuePrefix: COMMAND_QUEUE_PREFIX,
      jobName: 'command',
      retry: { ...DEFAULT_BACKGROUND_RETRY, attemptTimeoutMs: COMMAND_ATTEMPT_TIMEOUT_MS, ...options.retry },
      // A command taken over after its replica died runs again only if it was not answered yet (`alreadyAnswered`).
      maxStalledCount: 1,
      graceOver: 'the server is stopping: the grace period is over',
      describe: describeCommand,
      reportFailure,
      around: (job, token, attempt) => this.onePerPull(job, token, attempt),
    });
    this.conversations = new RedisConversationStore(this.lanes.client);
  }

  /** Storing the job is the deduplication (`DurableLanes.add`): one job per comment. */
  async enqueue(job: CommandJob, log: Logger): Promise<'queued' | 'duplicate'> {
    if ((await this.lanes.add(job, { jobId: jobIdOf(job), keepMs: DEDUP_WINDOW_MS })) === 'duplicate') return 'duplicate';
    log.debug({ door: job.door }, `${describeCommand(job)}: stored in Redis`);
    return 'queued';
  }

  /** Runs the attempt holding its pull request's lock; a job that finds the lock taken waits for it. */
  private async onePerPull(job: Job<CommandJob>, token: string | undefined, attempt: () => Promise<void>): Promise<void> {
    const client = this.lanes.client;
    const lockKey = `${LOCK_PREFIX}${createHash('sha256').update(commandKey(job.data)).digest('hex')}`;
    const holder = token ?? randomUUID();
    if ((await client.set(lockKey, holder, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      // Another command of this pull request is running: wait for it without spending an attempt.
      await job.moveToDelayed(Date.now() + LOCK_WAIT_MS, token);
      throw new DelayedError();
    }
    const renew = setInterval(() => void client.eval(RENEW, 1, lockKey, holder, String(LOCK_MS)).catch(() => undefined), LOCK_MS / 3);
    try {
      await attempt();
    } finally {
      clearInterval(renew);
      await client.eval(RELEASE, 1, lockKey, holder).catch(() => undefined);
    }
  }

  idle(): Promise<void> {
    return this.lanes.idle();
  }

  stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    return this.lanes.stop(graceMs);
  }
}
