import type { Logger } from 'probot';
import type { BackgroundRetry } from './background.js';
import { RecentCloses } from './cleanup.js';
import { teardownTask, type AccessFor, type DoorName, type PlatformFor } from './deliveries.js';
import { MemoryTeardownQueue, type TaskFor, type TeardownQueue } from './teardown-queue.js';

export interface QueueSettings {
  /** REDIS_URL: teardowns become durable BullMQ jobs shared by every replica. */
  redisUrl?: string;
  retry?: Partial<BackgroundRetry>;
  /** With Redis: how long a job whose replica died waits before another takes it over. */
  takeoverMs?: number;
}

export interface QueueParts {
  /** The doors open; a replica works only on their jobs. */
  doors: { open: DoorName[]; accessFor: AccessFor };
  platformFor: PlatformFor;
  log: Logger;
}

/**
 * Where acknowledged teardowns wait and run: in Redis with REDIS_URL (BullMQ and ioredis load only
 * then), in this process otherwise. Either way a job runs as `teardownTask`, through its door's access.
 */
export async function openQueue(settings: QueueSettings, parts: QueueParts): Promise<TeardownQueue> {
  const recent = new RecentCloses();
  const taskFor: TaskFor = (job, log) => teardownTask(job, { log, accessFor: parts.doors.accessFor, platformFor: parts.platformFor, recent });
  if (!settings.redisUrl) return new MemoryTeardownQueue(taskFor, settings.retry);
  const { DurableTeardownQueue } = await import('./durable.js');
  return new DurableTeardownQueue({ redisUrl: settings.redisUrl, lanes: parts.doors.open, taskFor, log: parts.log, retry: settings.retry, takeoverMs: settings.takeoverMs });
}
