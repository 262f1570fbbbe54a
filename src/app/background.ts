import { setMaxListeners } from 'node:events';
import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';

export interface BackgroundRetry {
  /** Tries in all, the first included. */
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /** Tasks running at once; the rest wait their turn, so a burst of deliveries is not a burst of platform calls. */
  concurrency: number;
}

/** 5 tries over about 15 s: long enough for a platform blip, short enough to finish while a replica lives. */
export const DEFAULT_BACKGROUND_RETRY: BackgroundRetry = { attempts: 5, firstDelayMs: 1000, maxDelayMs: 30_000, concurrency: 8 };

export interface BackgroundTask {
  /** Tasks with the same key run one after another (one repository's label, say). */
  key: string;
  /** What the task does, for the log. */
  what: string;
  /** Carries the delivery id. */
  log: Logger;
  run(attempt: number, signal: AbortSignal): Promise<void>;
}

/**
 * Runs webhook work after the delivery has been acknowledged, retrying with exponential backoff.
 * Nothing here is needed for correctness after a restart: work lost with the process is what the
 * sweep finds.
 */
export class BackgroundQueue {
  private readonly retry: BackgroundRetry;
  private readonly running = new Set<Promise<void>>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(retry: Partial<BackgroundRetry> = {}) {
    this.retry = { ...DEFAULT_BACKGROUND_RETRY, ...retry };
    // Every request of every running task listens on this one signal.
    setMaxListeners(0, this.stopping.signal);
  }

  enqueue(task: BackgroundTask): void {
    const previous = this.tails.get(task.key) ?? Promise.resolve();
    const done: Promise<void> = previous.then(() => this.inTurn(() => this.runWithRetries(task)));
    this.tails.set(task.key, done);
    this.running.add(done);
    void done.finally(() => {
      this.running.delete(done);
      if (this.tails.get(task.key) === done) this.tails.delete(task.key);
    });
  }

  private async inTurn(work: () => Promise<void>): Promise<void> {
    if (this.active >= Math.max(1, this.retry.concurrency)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Resolves once every queued task has finished, including tasks queued meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops waiting between retries; tasks in flight end at their next attempt. */
  stop(): void {
    this.stopping.abort(new Error('the server is stopping'));
  }

  private async runWithRetries(task: BackgroundTask): Promise<void> {
    const { attempts, firstDelayMs, maxDelayMs } = this.retry;
    const signal = this.stopping.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        await task.run(attempt, signal);
        return;
      } catch (err) {
        const message = redact(err instanceof Error ? err.message : String(err));
        const final = attempt >= attempts || err instanceof InputError || signal.aborted;
        if (final) {
          task.log.error(
            { task: task.what, attempt, error: message, leftForSweep: !(err instanceof InputError) },
            err instanceof InputError ? `${task.what} failed: ${message}` : `${task.what} failed after ${attempt} attempts; left for the sweep: ${message}`,
          );
          return;
        }
        const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
        task.log.warn({ task: task.what, attempt, error: message, retryInMs: Math.round(delayMs) }, `${task.what}: attempt ${attempt} of ${attempts} failed; retrying`);
        await pause(delayMs, signal);
      }
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
