/**
 * Time as the local platform sees it: when records are stamped, when previews expire, and when
 * builds and deployments take their next step. Tests pass a clock they move by hand, so that
 * expiry and status steps happen when the test says, not when real time has passed.
 */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
