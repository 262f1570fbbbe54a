import type { BackgroundRetry } from './background.js';
import type { TeardownJob } from './deliveries.js';
import { MemoryJobQueue, type JobQueue, type JobTaskFor } from './job-queue.js';

/**
 * Where acknowledged teardowns wait: in this process (`MemoryTeardownQueue`) or in Redis (`DurableTeardownQueue`).
 * `enqueue` answers `duplicate` when a delivery with the same id or body was accepted within the window.
 */
export type TeardownQueue = JobQueue<TeardownJob>;

export type TaskFor = JobTaskFor<TeardownJob>;

/**
 * What makes two deliveries the same: the delivery id, and the SHA-256 of the signed body (GitHub's
 * `X-GitHub-Delivery` is not signed, so a captured body replayed under a fresh id is still the same body).
 */
export function deliveryKeys(job: TeardownJob): string[] {
  return [`${job.door}:id:${job.deliveryId}`, ...(job.bodyDigest ? [`${job.door}:body:${job.bodyDigest}`] : [])];
}

/** Teardowns kept in this process's memory: finished on SIGTERM within the grace period, else left for the sweep. */
export class MemoryTeardownQueue extends MemoryJobQueue<TeardownJob> {
  constructor(taskFor: TaskFor, retry: Partial<BackgroundRetry> = {}) {
    super(taskFor, deliveryKeys, retry);
  }
}
