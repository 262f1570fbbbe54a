import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError } from '../errors.js';
import { formatDuration } from '../duration.js';

export interface PollOptions<T> {
  /** What is waited on, for the timeout message: "build bld_1". */
  what: string;
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each value fetched. */
  onValue?: (value: T) => void;
  /** Ends the current interval early (for example when a log stream closes). */
  wake?: { promise: () => Promise<void> };
}

/** Fetches until `done` says so, at a fixed interval, within a deadline. */
export async function pollUntil<T>(fetch: () => Promise<T>, done: (value: T) => boolean, options: PollOptions<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await fetch();
    options.onValue?.(value);
    if (done(value)) return value;
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError(`${options.what} did not finish within ${formatDuration(options.timeoutMs)}`);
    if (!options.wake) {
      await sleep(Math.min(options.intervalMs, left), undefined, { signal: options.signal });
      continue;
    }
    // Woken early, the pause is cancelled so no timer outlives the wait.
    const pauseOver = new AbortController();
    const stop = () => pauseOver.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      await Promise.race([sleep(Math.min(options.intervalMs, left), undefined, { signal: pauseOver.signal }), options.wake.promise()]);
    } catch (err) {
      options.signal?.throwIfAborted();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      pauseOver.abort();
    }
  }
}

/** A wake-up that can be fired many times; each `promise()` waits for the next `fire()`. */
export function wakeSignal(): { fire(): void; promise(): Promise<void> } {
  let resolve: () => void = () => {};
  let current = new Promise<void>((r) => (resolve = r));
  return {
    fire() {
      resolve();
      current = new Promise<void>((r) => (resolve = r));
    },
    promise: () => current,
  };
}
