import type { Clock } from '../../src/local-platform/index.js';

/**
 * A clock that moves only when the test says: `advance(ms)` runs, in time order, every timer due
 * by then (including timers those timers set). Expiry and status steps of the local platform then
 * happen at a point the test chose, however slow the machine is.
 */
export class ManualClock implements Clock {
  private time = Date.parse('2026-01-01T00:00:00Z');
  private sequence = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.sequence;
    this.timers.set(id, { at: this.time + Math.max(0, ms), run });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].run();
    }
    this.time = end;
  }

  /** Timers waiting, for a test to check that nothing is left scheduled. */
  get pending(): number {
    return this.timers.size;
  }
}

/**
 * The system's clock, whose timers wait while it is held: a local platform on it works in real time
 * until `hold()`; from then on its delays (a fault's `latencyMs`, a status step) end only after
 * `release()`. A test holds it to keep the platform's answers back until an event of its choosing.
 */
export class HoldableClock implements Clock {
  private held: { start: () => void; cancelled: boolean }[] | undefined;

  now(): number {
    return Date.now();
  }

  setTimeout(run: () => void, ms: number): unknown {
    if (!this.held) return { timer: setTimeout(run, ms) };
    const handle: { timer?: NodeJS.Timeout; cancelled: boolean; start: () => void } = { cancelled: false, start: () => (handle.timer = setTimeout(run, ms)) };
    this.held.push(handle);
    return handle;
  }

  clearTimeout(timer: unknown): void {
    const handle = timer as { timer?: NodeJS.Timeout; cancelled?: boolean };
    handle.cancelled = true;
    clearTimeout(handle.timer);
  }

  hold(): void {
    this.held ??= [];
  }

  /** Starts every timer set while held (each then runs after its own delay) and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const handle of held) if (!handle.cancelled) handle.start();
  }
}
