/**
 * Where acknowledged commands wait, as teardowns do (docs/app-deployment.md): in this process
 * (`MemoryCommandQueue`), or in Redis with `REDIS_URL` (`DurableCommandQueue`, `durable-queue.ts`).
 * Either way one pull request's commands run one at a time, in the order they arrived, and a
 * comment runs at most once however often it is delivered.
 */
import type { Logger } from 'probot';
import { BackgroundQueue, DEFAULT_TEARDOWN_GRACE_MS, type BackgroundRetry, type BackgroundTask, type StopReport } from '../app/background.js';
import { DeliveryWindow } from '../app/teardown-queue.js';
import { commandDeliveryKeys, type CommandJob } from './job.js';

export interface CommandQueue {
  /** Resolves once the command is accepted: `duplicate` when this delivery, its body or its comment was accepted within the window. */
  enqueue(job: CommandJob, log: Logger): Promise<'queued' | 'duplicate'>;
  idle(): Promise<void>;
  stop(graceMs?: number): Promise<StopReport>;
}

export type CommandTaskFor = (job: CommandJob, log: Logger) => BackgroundTask;

/**
 * One attempt of a command may take as long as a deploy waits (`/preview redeploy` waits for the new
 * preview to be healthy, as the action's `timeout` does); a stopping replica still gives it only the grace period.
 */
export const COMMAND_ATTEMPT_TIMEOUT_MS = 20 * 60_000;

export class MemoryCommandQueue implements CommandQueue {
  private readonly background: BackgroundQueue;
  private readonly window = new DeliveryWindow();

  constructor(
    private readonly taskFor: CommandTaskFor,
    retry: Partial<BackgroundRetry> = {},
  ) {
    this.background = new BackgroundQueue({ attemptTimeoutMs: COMMAND_ATTEMPT_TIMEOUT_MS, ...retry });
  }

  async enqueue(job: CommandJob, log: Logger): Promise<'queued' | 'duplicate'> {
    if (!this.window.firstSightOfAll(commandDeliveryKeys(job))) return 'duplicate';
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
