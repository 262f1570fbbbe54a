/**
 * Teardowns as durable jobs on Redis, with BullMQ, for apps that run several replicas (`REDIS_URL`).
 * A delivery is acknowledged once its job is stored; any replica's worker runs it; a failed attempt
 * goes back to Redis as a delayed job (BullMQ's exponential backoff), so a retry waiting for its turn
 * holds no worker slot; and a job whose replica dies mid-attempt is taken over by another once its
 * lock lapses (BullMQ's stalled-job check). Nothing acknowledged is lost to a restart.
 * See docs.bullmq.io: guide/retrying-failing-jobs, guide/workers/stalled-jobs, guide/jobs/job-ids.
 */
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import { abortable, DEFAULT_BACKGROUND_RETRY, DEFAULT_TEARDOWN_GRACE_MS, type BackgroundRetry, type StopReport } from './background.js';
import { describeTeardown, type TeardownJob } from './deliveries.js';
import type { TaskFor, TeardownQueue } from './teardown-queue.js';

export interface DurableQueueOptions {
  redisUrl: string;
  /** The doors this replica serves: it works only on their jobs. */
  lanes: TeardownJob['door'][];
  taskFor: TaskFor;
  log: Logger;
  retry?: Partial<BackgroundRetry>;
  /** How long a job whose replica died waits before another replica takes it over (BullMQ's lock duration). */
  takeoverMs?: number;
  /** How long a delivery id is remembered, across replicas. */
  deliveryWindowMs?: number;
}

export const QUEUE_PREFIX = 'agent-preview-teardowns';
export const DEFAULT_TAKEOVER_MS = 30_000;
const DELIVERY_KEY_PREFIX = 'agent-preview:delivery:';

/** A job as stored: the teardown, and which enqueue stored it. */
type StoredJob = TeardownJob & { acceptedAs?: string };

/** One job id per delivered body (BullMQ ids take no colon). */
function jobIdOf(job: TeardownJob): string {
  return (job.bodyDigest ? `${job.door}-body-${job.bodyDigest}` : `${job.door}-${job.deliveryId}`).replace(/[^A-Za-z0-9_.-]/g, '_');
}

export class DurableTeardownQueue implements TeardownQueue {
  private readonly retry: BackgroundRetry;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly active = new Map<string, string>();
  private readonly stopping = new AbortController();
  private readonly client: Redis;
  private readonly connections: Redis[] = [];

  constructor(private readonly options: DurableQueueOptions) {
    this.retry = { ...DEFAULT_BACKGROUND_RETRY, ...options.retry };
    // Producers fail fast when Redis is down, so the delivery is not acknowledged and the forge retries it.
    this.client = this.connect({ maxRetriesPerRequest: 1 });
    const takeoverMs = options.takeoverMs ?? DEFAULT_TAKEOVER_MS;
    for (const lane of options.lanes) {
      this.queues.set(lane, new Queue(`${QUEUE_PREFIX}-${lane}`, { connection: this.client }));
      // Workers block on Redis; BullMQ wants maxRetriesPerRequest null there.
      const worker = new Worker(`${QUEUE_PREFIX}-${lane}`, (job, _token, signal) => this.process(job, signal), {
        connection: this.connect({ maxRetriesPerRequest: null }),
        concurrency: this.retry.concurrency,
        lockDuration: takeoverMs,
        stalledInterval: takeoverMs,
        maxStalledCount: this.retry.attempts,
      });
      worker.on('error', (err) => options.log.error({ error: redact(err.message) }, `teardown queue ${lane}: ${redact(err.message)}`));
      this.workers.push(worker);
    }
  }

  private connect(extra: { maxRetriesPerRequest: number | null }): Redis {
    const connection = new Redis(this.options.redisUrl, { ...extra, lazyConnect: false });
    connection.on('error', () => undefined); // reported by the caller that needed it
    this.connections.push(connection);
    return connection;
  }

  /**
   * Storing the job is the deduplication. Its BullMQ job id is the signed body's digest (or, for a
   * job without one, the delivery id), and BullMQ stores no second job under an id it holds
   * (docs.bullmq.io/guide/jobs/job-ids: "if you add a job with an existing id then that job will just be ignored"): so a
   * delivery is acknowledged only once its job is stored, and when Redis fails before that, the
   * forge's redelivery finds nothing stored and stores it. Whether this call stored it is read back
   * from the stored job's `acceptedAs`. The delivery id is remembered too, once the job is stored,
   * so a redelivery whose body differs (it cannot be signed otherwise) is still known.
   */
  async enqueue(job: TeardownJob, log: Logger): Promise<'queued' | 'duplicate'> {
    const queue = this.queues.get(job.door);
    if (!queue) throw new Error(`this replica does not serve ${job.door}`);
    const windowMs = this.options.deliveryWindowMs ?? 24 * 3_600_000;
    const deliveryKey = `${DELIVERY_KEY_PREFIX}${job.door}:${job.deliveryId}`;
    if (await this.client.exists(deliveryKey)) return 'duplicate';
    const acceptedAs = randomUUID();
    const stored = await queue.add('teardown', { ...job, acceptedAs } satisfies StoredJob, {
      jobId: jobIdOf(job),
      attempts: this.retry.attempts,
      backoff: { type: 'exponential', delay: this.retry.firstDelayMs },
      removeOnComplete: { age: Math.round(windowMs / 1000) },
      removeOnFail: { age: Math.round(windowMs / 1000) },
    });
    const holder = (await queue.getJob(stored.id!)) as Job<StoredJob> | undefined;
    // Gone already (done and removed at once) can only be this call's job: nothing else was stored under its id.
    if (holder && holder.data.acceptedAs !== acceptedAs) return 'duplicate';
    await this.client
      .set(deliveryKey, '1', 'PX', windowMs)
      .catch((err: Error) => log.warn({ door: job.door }, `delivery ${job.deliveryId} stored, but not remembered: ${redact(err.message)}`));
    log.debug({ door: job.door }, `${describeTeardown(job)}: stored in Redis`);
    return 'queued';
  }

  private async process(job: Job<TeardownJob>, signal: AbortSignal | undefined): Promise<void> {
    const what = describeTeardown(job.data);
    const log = this.options.log.child({ id: job.data.deliveryId, forge: job.data.door });
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? this.retry.attempts;
    this.active.set(job.id!, what);
    try {
      const task = this.options.taskFor(job.data, log);
      const attemptSignal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.retry.attemptTimeoutMs), ...(signal ? [signal] : [])]);
      await abortable(task.run(attempt, attemptSignal), attemptSignal);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      if (err instanceof InputError) {
        log.error({ task: what, attempt, error: message, leftForSweep: false }, `${what} failed: ${message}`);
        throw new UnrecoverableError(message);
      }
      if (this.stopping.signal.aborted) {
        log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} cut off by shutdown; the job stays in Redis for another replica`);
      } else if (attempt >= attempts) {
        log.error({ task: what, attempt, error: message, leftForSweep: true }, `${what} failed after ${attempt} attempts; left for the sweep: ${message}`);
      } else {
        log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} of ${attempts} failed; retrying`);
      }
      throw err;
    } finally {
      this.active.delete(job.id!);
    }
  }

  /** Resolves when no job of this replica's lanes waits, runs or waits to retry (tests, and the sweep's peace of mind). */
  async idle(): Promise<void> {
    for (;;) {
      const counts = await Promise.all([...this.queues.values()].map((queue) => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
      if (counts.every((count) => Object.values(count).every((n) => n === 0))) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * Stops taking jobs and lets the running ones finish within `graceMs`; then cuts them off (their
   * jobs stay in Redis and another replica takes them over). Queued jobs are not touched: they wait
   * in Redis for any replica.
   */
  async stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    let timer: NodeJS.Timeout | undefined;
    const closing = Promise.all(this.workers.map((worker) => worker.close()));
    const outcome = await Promise.race([closing.then(() => 'closed' as const), new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)))]);
    clearTimeout(timer);
    const unfinished = outcome === 'closed' ? [] : [...this.active.values()];
    if (outcome !== 'closed') {
      this.stopping.abort(new Error('the server is stopping: the teardown grace period is over'));
      for (const worker of this.workers) worker.cancelAllJobs('the server is stopping');
      await Promise.all(this.workers.map((worker) => worker.close(true)));
    }
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    return { unfinished };
  }
}
