/**
 * Teardowns as durable jobs on Redis, with BullMQ, for apps that run several replicas (`REDIS_URL`).
 * A delivery is acknowledged once its job is stored; any replica's worker runs it; a failed attempt
 * goes back to Redis as a delayed job (BullMQ's exponential backoff), so a retry waiting for its turn
 * holds no worker slot; and a job whose replica dies mid-attempt is taken over by another once its
 * lock lapses (BullMQ's stalled-job check). Nothing acknowledged is lost to a restart. The BullMQ
 * side, shared with the commands' queue, is `durable-lanes.ts`.
 */
import type { Logger } from 'probot';
import { redact } from '../secrets/redact.js';
import { DEFAULT_BACKGROUND_RETRY, DEFAULT_TEARDOWN_GRACE_MS, type StopReport } from './background.js';
import { describeTeardown, type TeardownJob } from './deliveries.js';
import { DurableLanes, type AttemptFailure, type DurableQueueSettings } from './durable-lanes.js';
import type { TeardownQueue } from './teardown-queue.js';

export interface DurableQueueOptions extends DurableQueueSettings<TeardownJob> {
  /** How long a delivery id is remembered, across replicas. */
  deliveryWindowMs?: number;
}

export const QUEUE_PREFIX = 'agent-preview-teardowns';
const DELIVERY_KEY_PREFIX = 'agent-preview:delivery:';

/** One job id per delivered body (BullMQ ids take no colon). */
function jobIdOf(job: TeardownJob): string {
  return (job.bodyDigest ? `${job.door}-body-${job.bodyDigest}` : `${job.door}-${job.deliveryId}`).replace(/[^A-Za-z0-9_.-]/g, '_');
}

function reportFailure(log: Logger, { what, attempt, attempts, message, invalidInput, cutOff }: AttemptFailure): void {
  if (invalidInput) {
    log.error({ task: what, attempt, error: message, leftForSweep: false }, `${what} failed: ${message}`);
  } else if (cutOff) {
    log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} cut off by shutdown; the job stays in Redis for another replica`);
  } else if (attempt >= attempts) {
    log.error({ task: what, attempt, error: message, leftForSweep: true }, `${what} failed after ${attempt} attempts; left for the sweep: ${message}`);
  } else {
    log.warn({ task: what, attempt, error: message }, `${what}: attempt ${attempt} of ${attempts} failed; retrying`);
  }
}

export class DurableTeardownQueue implements TeardownQueue {
  private readonly lanes: DurableLanes<TeardownJob>;

  constructor(private readonly options: DurableQueueOptions) {
    const retry = { ...DEFAULT_BACKGROUND_RETRY, ...options.retry };
    this.lanes = new DurableLanes({
      ...options,
      queuePrefix: QUEUE_PREFIX,
      jobName: 'teardown',
      retry,
      maxStalledCount: retry.attempts,
      graceOver: 'the server is stopping: the teardown grace period is over',
      describe: describeTeardown,
      reportFailure,
    });
  }

  /**
   * Storing the job is the deduplication (`DurableLanes.add`). Its BullMQ job id is the signed body's
   * digest (or, for a job without one, the delivery id): so a delivery is acknowledged only once its
   * job is stored, and when Redis fails before that, the forge's redelivery finds nothing stored and
   * stores it. The delivery id is remembered too, once the job is stored, so a redelivery whose body
   * differs (it cannot be signed otherwise) is still known.
   */
  async enqueue(job: TeardownJob, log: Logger): Promise<'queued' | 'duplicate'> {
    const windowMs = this.options.deliveryWindowMs ?? 24 * 3_600_000;
    const deliveryKey = `${DELIVERY_KEY_PREFIX}${job.door}:${job.deliveryId}`;
    const known = async () => (await this.lanes.client.exists(deliveryKey)) > 0;
    if ((await this.lanes.add(job, { jobId: jobIdOf(job), keepMs: windowMs, known })) === 'duplicate') return 'duplicate';
    await this.lanes.client
      .set(deliveryKey, '1', 'PX', windowMs)
      .catch((err: Error) => log.warn({ door: job.door }, `delivery ${job.deliveryId} stored, but not remembered: ${redact(err.message)}`));
    log.debug({ door: job.door }, `${describeTeardown(job)}: stored in Redis`);
    return 'queued';
  }

  /** Resolves when no job of this replica's lanes waits, runs or waits to retry (tests, and the sweep's peace of mind). */
  idle(): Promise<void> {
    return this.lanes.idle();
  }

  /** Stops taking jobs and lets the running ones finish within `graceMs`; then cuts them off, their jobs left in Redis for another replica. */
  stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    return this.lanes.stop(graceMs);
  }
}
