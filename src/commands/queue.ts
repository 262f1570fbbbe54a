/**
 * Where acknowledged commands wait, as teardowns do (docs/app-deployment.md): in this process
 * (`MemoryCommandQueue`), or in Redis with `REDIS_URL` (`DurableCommandQueue`, `durable-queue.ts`).
 * Either way one pull request's commands run one at a time, in the order they arrived, and a
 * comment runs at most once however often it is delivered.
 */
import type { BackgroundRetry } from '../app/background.js';
import { MemoryJobQueue, type JobQueue, type JobTaskFor } from '../app/job-queue.js';
import { commandDeliveryKeys, type CommandJob } from './job.js';

/** `enqueue` answers `duplicate` when this delivery, its body or its comment was accepted within the window. */
export type CommandQueue = JobQueue<CommandJob>;

export type CommandTaskFor = JobTaskFor<CommandJob>;

/**
 * One attempt of a command may take as long as a deploy waits (`/preview redeploy` waits for the new
 * preview to be healthy, as the action's `timeout` does); a stopping replica still gives it only the grace period.
 */
export const COMMAND_ATTEMPT_TIMEOUT_MS = 20 * 60_000;

export class MemoryCommandQueue extends MemoryJobQueue<CommandJob> {
  constructor(taskFor: CommandTaskFor, retry: Partial<BackgroundRetry> = {}) {
    super(taskFor, commandDeliveryKeys, { attemptTimeoutMs: COMMAND_ATTEMPT_TIMEOUT_MS, ...retry });
  }
}
