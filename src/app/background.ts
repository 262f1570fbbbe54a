import { setMaxListeners } from 'node:events';
import type { Logger } from 'probot';
import { InputError } from '../errors.js';
import { redact } from '../secrets/redact.js';

export interface BackgroundRetry {
  /** Tries in all, the first included. */
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /**
   * Attempts running at once in each lane (one lane per door); the rest wait their turn, so a burst
   * of deliveries is not a burst of platform calls. A task waiting for its next try holds no slot.
   */
  concurrency: number;
  /** One attempt is aborted after this long, so a forge or platform that hangs cannot hold a slot. */
  attemptTimeoutMs: number;
}

/** 5 tries over about 15 s: long enough for a platform blip, short enough to finish while a replica lives. */
export const DEFAULT_BACKGROUND_RETRY: BackgroundRetry = { attempts: 5, firstDelayMs: 1000, maxDelayMs: 30_000, concurrency: 8, attemptTimeoutMs: 60_000 };

/** How long a stopping replica keeps working on acknowledged teardowns (inside Kubernetes' default 30 s). */
export const DEFAULT_TEARDOWN_GRACE_MS = 25_000;

export interface BackgroundTask {
  /** Tasks with the same key run one after another (one repository's label, say). */
  key: string;
  /** Tasks of one lane share its slots; lanes do not wait for each other (one per door, so one forge's outage stalls no other). */
  lane?: string;
  /** What the task does, for the log. */
  what: string;
  /** Carries the delivery id. */
  log: Logger;
  run(attempt: number, signal: AbortSignal): Promise<void>;
}

/** What a stop left undone: tasks that had not finished when the grace period ended. */
export interface StopReport {
  unfinished: string[];
}

/**
 * Runs webhook work after the delivery has been acknowledged, retrying with exponential backoff.
 * Kept in memory: on SIGTERM, `stop(graceMs)` keeps working until everything queued is done or the
 * grace period ends; what is still unfinished then is reported by name, and only a sweep finds it
 * again (docs/app-deployment.md). With REDIS_URL the durable queue (`durable.ts`) takes this one's place.
 */
export class BackgroundQueue {
  private readonly retry: BackgroundRetry;
  private readonly running = new Map<Promise<void>, string>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly lanes = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(retry: Partial<BackgroundRetry> = {}) {
    this.retry = { ...DEFAULT_BACKGROUND_RETRY, ...retry };
    // Every request of every running task listens on this one signal.
    setMaxListeners(0, this.stopping.signal);
  }

  enqueue(task: BackgroundTask): void {
    const previous = this.tails.get(task.key) ?? Promise.resolve();
    const done: Promise<void> = previous.then(() => this.runWithRetries(task));
    this.tails.set(task.key, done);
    this.running.set(done, task.what);
    void done.finally(() => {
      this.running.delete(done);
      if (this.tails.get(task.key) === done) this.tails.delete(task.key);
    });
  }

  /** Tasks queued or running, by what they do. */
  get pending(): string[] {
    return [...this.running.values()];
  }

  /** Resolves once every queued task has finished, including tasks queued meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.keys()]);
  }

  /**
   * Finishes queued and running tasks, retries included, for up to `graceMs`; then aborts what is
   * left (requests in flight end, nothing new starts) and reports it.
   */
  async stop(graceMs = DEFAULT_TEARDOWN_GRACE_MS): Promise<StopReport> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)));
    const outcome = await Promise.race([this.idle().then(() => 'idle' as const), graceOver]);
    clearTimeout(timer);
    const unfinished = outcome === 'idle' ? [] : this.pending;
    this.stopping.abort(new Error('the server is stopping: the teardown grace period is over'));
    await this.idle();
    return { unfinished };
  }

  private async runWithRetries(task: BackgroundTask): Promise<void> {
    const { attempts, firstDelayMs, maxDelayMs } = this.retry;
    const stopping = this.stopping.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.inTurn(task.lane ?? '', () => {
          stopping.throwIfAborted();
          const signal = AbortSignal.any([stopping, AbortSignal.timeout(this.retry.attemptTimeoutMs)]);
          return abortable(task.run(attempt, signal), signal);
        });
        return;
      } catch (err) {
        const message = redact(err instanceof Error ? err.message : String(err));
        if (stopping.aborted) {
          // Where it goes from here (another replica, a sweep, nowhere) the stop report says.
          task.log.warn({ task: task.what, attempt, error: message }, `${task.what}: attempt ${attempt} cut off by the shutdown`);
          return;
        }
        const final = attempt >= attempts || err instanceof InputError;
        if (final) {
          task.log.error(
            { task: task.what, attempt, error: message, leftForSweep: !(err instanceof InputError) },
            err instanceof InputError ? `${task.what} failed: ${message}` : `${task.what} failed after ${attempt} attempts; left for the sweep: ${message}`,
          );
          return;
        }
        const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
        task.log.warn({ task: task.what, attempt, error: message, retryInMs: Math.round(delayMs) }, `${task.what}: attempt ${attempt} of ${attempts} failed; retrying`);
        // The wait happens outside `inTurn`: a task waiting for its next try holds no slot.
        await pause(delayMs, stopping);
      }
    }
  }

  private async inTurn<T>(laneName: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(laneName);
    if (!lane) this.lanes.set(laneName, (lane = { active: 0, waiting: [] }));
    // A finishing task hands its slot straight to the next one waiting, so none is taken twice.
    if (lane.active >= Math.max(1, this.retry.concurrency)) await new Promise<void>((resolve) => lane.waiting.push(resolve));
    else lane.active++;
    try {
      return await work();
    } finally {
      const next = lane.waiting.shift();
      if (next) next();
      else lane.active--;
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

/** Settles with the work, or rejects as soon as the signal aborts: an attempt ends on time even if a call ignores its signal. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
