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
