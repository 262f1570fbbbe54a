/**
 * Commands as durable BullMQ jobs in Redis (`REDIS_URL`), beside the teardowns (`app/durable.ts`,
 * whose design this follows): a delivery is acknowledged once its job is stored, any replica runs
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
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'probot';
import { DEFAULT_BACKGROUND_RETRY, DEFAULT_TEARDOWN_GRACE_MS, abortable, type BackgroundRetry, type StopReport } from '../app/background.js';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import { RedisConversationStore } from './conversations.js';
import { commandKey, describeCommand, type CommandJob } from './job.js';
import { COMMAND_ATTEMPT_TIMEOUT_MS, type CommandQueue, type CommandTaskFor } from './queue.js';

export const COMMAND_QUEUE_PREFIX = 'agent-preview-commands';
const LOCK_PREFIX = 'agent-preview:command-lock:';
const DEDUP_WINDOW_MS = 24 * 3_600_000;
/** How long a pull request's lock outlives a replica that stopped renewing it. */
const LOCK_MS = 30_000;
const LOCK_WAIT_MS = 1_000;

/** Deletes the key only if it still holds our token (the usual Redis lock release). */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

type StoredJob = CommandJob & { acceptedAs?: string };

export interface DurableCommandQueueOptions {
  redisUrl: string;
  lanes: CommandJob['door'][];
  taskFor: CommandTaskFor;
  log: Logger;
  retry?: Partial<BackgroundRetry>;
  takeoverMs?: number;
}

/** One BullMQ job id per comment (ids take no colon). */
function jobIdOf(job: CommandJob): string {
  const repo = createHash('sha256').update(job.repository.htmlUrl.toLowerCase()).digest('hex').slice(0, 24);
  return `${job.door}-comment-${repo}-${job.comment.id}`;
}

export class DurableCommandQueue implements CommandQueue {
  private readonly retry: BackgroundRetry;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly active = new Map<string, string>();
  private readonly stopping = new AbortController();
  private readonly client: Redis;
  private readonly connections: Redis[] = [];
  /** Where `/preview ask` keeps each reviewer's conversation: this Redis. */
  readonly conversations: RedisConversationStore;

  constructor(private readonly options: DurableCommandQueueOptions) {
    this.retry = { ...DEFAULT_BACKGROUND_RETRY, attemptTimeoutMs: COMMAND_ATTEMPT_TIMEOUT_MS, ...options.retry };
    this.client = this.connect({ maxRetriesPerRequest: 1 });
    this.conversations = new RedisConversationStore(this.client);
    const takeoverMs = options.takeoverMs ?? 30_000;
    for (const lane of options.lanes) {
      const name = `${COMMAND_QUEUE_PREFIX}-${lane}`;
      this.queues.set(lane, new Queue(name, { connection: this.client }));
      const worker = new Worker(name, (job, token, signal) => this.process(job, token, signal), {
        connection: this.connect({ maxRetriesPerRequest: null }),
        concurrency: this.retry.concurrency,
        lockDuration: takeoverMs,
        stalledInterval: takeoverMs,
        // A command taken over after its replica died runs again only if it was not answered yet (`alreadyAnswered`).
        maxStalledCount: 1,
      });
      worker.on('error', (err) => options.log.error({ error: redact(err.message) }, `command queue ${lane}: ${redact(err.message)}`));
      this.workers.push(worker);
    }
  }

  private connect(extra: { maxRetriesPerRequest: number | null }): Redis {
    const connection = new Redis(this.options.redisUrl, { ...extra, lazyConnect: false });
    connection.on('error', () => undefined); // reported by the caller that needed it
    this.connections.push(connection);
    return connection;
  }

  /** Storing the job is the deduplication; whether this call stored it is read back from `acceptedAs`, as in `app/durable.ts`. */
  async enqueue(job: CommandJob, log: Logger): Promise<'queued' | 'duplicate'> {
    const queue = this.queues.get(job.door);
    if (!queue) throw new Error(`this replica does not serve ${job.door}`);
    const acceptedAs = randomUUID();
    const stored = await queue.add('command', { ...job, acceptedAs } satisfies StoredJob, {
      jobId: jobIdOf(job),
      attempts: this.retry.attempts,
      backoff: { type: 'exponential', delay: this.retry.firstDelayMs },
      removeOnComplete: { age: Math.round(DEDUP_WINDOW_MS / 1000) },
      removeOnFail: { age: Math.round(DEDUP_WINDOW_MS / 1000) },
    });
    const holder = (await queue.getJob(stored.id!)) as Job<StoredJob> | undefined;
    if (holder && holder.data.acceptedAs !== acceptedAs) return 'duplicate';
    log.debug({ door: job.door }, `${describeCommand(job)}: stored in Redis`);
    return 'queued';
  }

  private async process(job: Job<CommandJob>, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const lockKey = `${LOCK_PREFIX}${createHash('sha256').update(commandKey(job.data)).digest('hex')}`;
    const holder = token ?? randomUUID();
    if ((await this.client.set(lockKey, holder, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      // Another command of this pull request is running: wait for it without spending an attempt.
      await job.moveToDelayed(Date.now() + LOCK_WAIT_MS, token);
      throw new DelayedError();
    }
    const renew = setInterval(() => void this.client.eval(RENEW, 1, lockKey, holder, String(LOCK_MS)).catch(() => undefined), LOCK_MS / 3);
    try {
      await this.attempt(job, signal);
    } finally {
      clearInterval(renew);
      await this.client.eval(RELEASE, 1, lockKey, holder).catch(() => undefined);
    }
  }

  private async attempt(job: Job<CommandJob>, signal: AbortSignal | undefined): Promise<void> {
    const what = describeCommand(job.data);
    const log = this.options.log.child({ id: job.data.deliveryId, forge: job.data.door });
    const attempt = job.attemptsMade + 1;
    this.active.set(job.id!, what);
    try {
      const task = this.options.taskFor(job.data, log);
      const attemptSignal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.retry.attemptTimeoutMs), ...(signal ? [signal] : [])]);
      await abortable(task.run(attempt, attemptSignal), attemptSignal);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      if (err instanceof InputError) {
        log.error({ task: what, attempt, error: message }, `${what} failed: ${message}`);
        throw new UnrecoverableError(message);
      }
      log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} failed${this.stopping.signal.aborted ? ' (cut off by shutdown)' : ''}`);
      throw err;
    } finally {
      this.active.delete(job.id!);
    }
  }

  async idle(): Promise<void> {
    for (;;) {
      const counts = await Promise.all([...this.queues.values()].map((queue) => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
      if (counts.every((count) => Object.values(count).every((n) => n === 0))) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    let timer: NodeJS.Timeout | undefined;
    const closing = Promise.all(this.workers.map((worker) => worker.close()));
    const outcome = await Promise.race([closing.then(() => 'closed' as const), new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)))]);
    clearTimeout(timer);
    const unfinished = outcome === 'closed' ? [] : [...this.active.values()];
    if (outcome !== 'closed') {
      this.stopping.abort(new Error('the server is stopping: the grace period is over'));
      for (const worker of this.workers) worker.cancelAllJobs('the server is stopping');
      await Promise.all(this.workers.map((worker) => worker.close(true)));
    }
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    return { unfinished };
  }
}
