/**
 * The BullMQ side of the app's durable queues, the teardowns (`durable.ts`) and the `/preview`
 * commands (`commands/durable-queue.ts`): one queue and one worker per door (a lane), on a Redis
 * connection for producers that fails fast and one per worker that blocks. A job is stored once
 * under its id; any replica's worker runs it; a failed attempt goes back to Redis as a delayed job
 * (BullMQ's exponential backoff), so a retry waiting for its turn holds no worker slot; and a job
 * whose replica dies mid-attempt is taken over by another once its lock lapses (BullMQ's
 * stalled-job check). What differs between the queues (job ids, what a failure says, the commands'
 * per-pull-request lock) is theirs. BullMQ and ioredis load only with REDIS_URL (the callers import
 * this module's users dynamically).
 * See docs.bullmq.io: guide/retrying-failing-jobs, guide/workers/stalled-jobs, guide/jobs/job-ids.
 */
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import { abortable, type BackgroundRetry, type StopReport } from './background.js';
import type { DoorName } from './deliveries.js';
import type { JobTaskFor } from './job-queue.js';

/** What every durable job carries: the door it came through (its lane) and the delivery that brought it. */
export interface LaneJob {
  door: DoorName;
  deliveryId: string;
}

/** An attempt that threw, for the queue to say in the log; the lanes decide what becomes of the job. */
export interface AttemptFailure {
  what: string;
  attempt: number;
  attempts: number;
  message: string;
  /** Bad input (`InputError`): the job fails for good, never retried. */
  invalidInput: boolean;
  /** The replica is stopping and cut the attempt off: the job stays in Redis for another replica. */
  cutOff: boolean;
}

/** What a durable queue (teardowns, commands) is opened with. */
export interface DurableQueueSettings<J extends LaneJob> {
  redisUrl: string;
  /** The doors this replica serves: it works only on their jobs. */
  lanes: J['door'][];
  taskFor: JobTaskFor<J>;
  log: Logger;
  retry?: Partial<BackgroundRetry>;
  /** How long a job whose replica died waits before another replica takes it over (BullMQ's lock duration); `DEFAULT_TAKEOVER_MS` unless given. */
  takeoverMs?: number;
}

/** A durable queue's settings, its retry made whole, and what is its own. */
export type DurableLanesOptions<J extends LaneJob> = Omit<DurableQueueSettings<J>, 'retry'> & {
  retry: BackgroundRetry;
  /** Each lane's BullMQ queue is `<queuePrefix>-<lane>`. */
  queuePrefix: string;
  /** The name jobs are stored under (`teardown`, `command`); a worker's errors are logged as `<jobName> queue <lane>`. */
  jobName: string;
  /** How many times a job is taken over from a replica that died before it fails (BullMQ's maxStalledCount). */
  maxStalledCount: number;
  /** Why attempts still running when the grace period of a stop ends are aborted. */
  graceOver: string;
  describe(job: J): string;
  reportFailure(log: Logger, failure: AttemptFailure): void;
  /** Runs around each attempt (the commands hold their pull request's lock); the attempt alone unless given. */
  around?(job: Job<J>, token: string | undefined, attempt: () => Promise<void>): Promise<void>;
};

export const DEFAULT_TAKEOVER_MS = 30_000;

/** A job as stored: the job, and which `add` stored it. */
type Stored<J> = J & { acceptedAs?: string };

export class DurableLanes<J extends LaneJob> {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly active = new Map<string, string>();
  private readonly stopping = new AbortController();
  private readonly connections: Redis[] = [];
  /** The producers' connection: it fails fast when Redis is down, so the delivery is not acknowledged and the forge retries it. */
  readonly client: Redis;

  constructor(private readonly options: DurableLanesOptions<J>) {
    this.client = this.connect({ maxRetriesPerRequest: 1 });
    const takeoverMs = options.takeoverMs ?? DEFAULT_TAKEOVER_MS;
    for (const lane of options.lanes) {
      const name = `${options.queuePrefix}-${lane}`;
      this.queues.set(lane, new Queue(name, { connection: this.client }));
      // Workers block on Redis; BullMQ wants maxRetriesPerRequest null there.
      const worker = new Worker(name, (job: Job<J>, token, signal) => (options.around ? options.around(job, token, () => this.attempt(job, signal)) : this.attempt(job, signal)), {
        connection: this.connect({ maxRetriesPerRequest: null }),
        concurrency: options.retry.concurrency,
        lockDuration: takeoverMs,
        stalledInterval: takeoverMs,
        maxStalledCount: options.maxStalledCount,
      });
      worker.on('error', (err) => options.log.error({ error: redact(err.message) }, `${options.jobName} queue ${lane}: ${redact(err.message)}`));
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
   * Stores the job under `jobId`, kept `keepMs` once finished, unless `known` finds it accepted
   * already. Storing is the deduplication: BullMQ stores no second job under an id it holds
   * (docs.bullmq.io/guide/jobs/job-ids: "if you add a job with an existing id then that job will just
   * be ignored"), so whether this call stored it is read back from the stored job's `acceptedAs`.
   */
  async add(job: J, stored: { jobId: string; keepMs: number; known?: () => Promise<boolean> }): Promise<'queued' | 'duplicate'> {
    const queue = this.queues.get(job.door);
    if (!queue) throw new Error(`this replica does not serve ${job.door}`);
    if (stored.known && (await stored.known())) return 'duplicate';
    const acceptedAs = randomUUID();
    const added = await queue.add(this.options.jobName, { ...job, acceptedAs } satisfies Stored<J>, {
      jobId: stored.jobId,
      attempts: this.options.retry.attempts,
      backoff: { type: 'exponential', delay: this.options.retry.firstDelayMs },
      removeOnComplete: { age: Math.round(stored.keepMs / 1000) },
      removeOnFail: { age: Math.round(stored.keepMs / 1000) },
    });
    const holder = (await queue.getJob(added.id!)) as Job<Stored<J>> | undefined;
    // Gone already (done and removed at once) can only be this call's job: nothing else was stored under its id.
    return holder && holder.data.acceptedAs !== acceptedAs ? 'duplicate' : 'queued';
  }

  private async attempt(job: Job<J>, signal: AbortSignal | undefined): Promise<void> {
    const what = this.options.describe(job.data);
    const log = this.options.log.child({ id: job.data.deliveryId, forge: job.data.door });
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? this.options.retry.attempts;
    this.active.set(job.id!, what);
    try {
      const task = this.options.taskFor(job.data, log);
      const attemptSignal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.retry.attemptTimeoutMs), ...(signal ? [signal] : [])]);
      await abortable(task.run(attempt, attemptSignal), attemptSignal);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      const invalidInput = err instanceof InputError;
      this.options.reportFailure(log, { what, attempt, attempts, message, invalidInput, cutOff: this.stopping.signal.aborted });
      throw invalidInput ? new UnrecoverableError(message) : err;
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
  async stop(graceMs: number): Promise<StopReport> {
    let timer: NodeJS.Timeout | undefined;
    const closing = Promise.all(this.workers.map((worker) => worker.close()));
    const outcome = await Promise.race([closing.then(() => 'closed' as const), new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)))]);
    clearTimeout(timer);
    const unfinished = outcome === 'closed' ? [] : [...this.active.values()];
    if (outcome !== 'closed') {
      this.stopping.abort(new Error(this.options.graceOver));
      for (const worker of this.workers) worker.cancelAllJobs('the server is stopping');
      await Promise.all(this.workers.map((worker) => worker.close(true)));
    }
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    return { unfinished };
  }
}
