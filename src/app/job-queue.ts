/**
 * Where acknowledged jobs wait, teardowns (`teardown-queue.ts`) and `/preview` commands
 * (`commands/queue.ts`) alike: in this process (`MemoryJobQueue`), or in Redis with `REDIS_URL`
 * (their durable queues, on `durable-lanes.ts`).
 */
import type { Logger } from 'probot';
import { BackgroundQueue, DEFAULT_TEARDOWN_GRACE_MS, type BackgroundRetry, type BackgroundTask, type StopReport } from './background.js';

export interface JobQueue<J> {
  /**
   * Resolves once the job is accepted (the delivery can be acknowledged then): `duplicate` when the
   * same job was accepted within the window, `queued` otherwise.
   */
  enqueue(job: J, log: Logger): Promise<'queued' | 'duplicate'>;
  /** Resolves when every accepted job this process can see is done. */
  idle(): Promise<void>;
  /** Stops taking work and finishes what it holds within `graceMs`; reports what it could not. */
  stop(graceMs?: number): Promise<StopReport>;
}

/** The task that runs a job, logging to `log` (which carries the delivery id). */
export type JobTaskFor<J> = (job: J, log: Logger) => BackgroundTask;

/**
 * A delivery id is one event: GitHub redelivers with the same `X-GitHub-Delivery`, and a replayed
 * capture carries it too (docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#use-the-x-github-delivery-header); Gitea sends its hook task's UUID as `X-Gitea-Delivery`
 * (go-gitea/gitea@05a2257:services/webhook/deliver.go). Ids are remembered for `ttlMs`, at most
 * `capacity` of them, oldest forgotten first. A replay after the window still deletes nothing of an
 * open pull request: every teardown asks the forge first (`deliveries.ts`).
 * Hand-written because a Map in insertion order is already the bounded, time-ordered set needed here.
 */
export class DeliveryWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly capacity = 10_000,
    private readonly ttlMs = 24 * 3_600_000,
  ) {}

  /** True the first time an id is offered within the window. */
  firstSight(id: string, now = Date.now()): boolean {
    return this.firstSightOfAll([id], now);
  }

  /** True when none of the ids was offered within the window; all of them are remembered either way. */
  firstSightOfAll(ids: string[], now = Date.now()): boolean {
    for (const [oldest, at] of this.seen) {
      if (now - at < this.ttlMs && this.seen.size + ids.length <= this.capacity) break;
      this.seen.delete(oldest);
    }
    const first = ids.every((id) => !this.seen.has(id));
    for (const id of ids) if (!this.seen.has(id)) this.seen.set(id, now);
    return first;
  }
}

/**
 * Jobs kept in this process's memory: a job none of whose `keysOf` was seen within the window runs
 * as its task on a `BackgroundQueue`; on SIGTERM, what is unfinished within the grace period is reported.
 */
export class MemoryJobQueue<J> implements JobQueue<J> {
  private readonly background: BackgroundQueue;
  private readonly window = new DeliveryWindow();

  constructor(
    private readonly taskFor: JobTaskFor<J>,
    private readonly keysOf: (job: J) => string[],
    retry: Partial<BackgroundRetry> = {},
  ) {
    this.background = new BackgroundQueue(retry);
  }

  async enqueue(job: J, log: Logger): Promise<'queued' | 'duplicate'> {
    if (!this.window.firstSightOfAll(this.keysOf(job))) return 'duplicate';
    this.background.enqueue(this.taskFor(job, log));
    return 'queued';
  }

  idle(): Promise<void> {
    return this.background.idle();
  }

  stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    return this.background.stop(graceMs);
  }
}
