import type { Logger } from 'probot';
import type { CommandQueue } from '../commands/queue.js';
import { DEFAULT_TEARDOWN_GRACE_MS } from './background.js';
import type { Sweeper } from './sweeper.js';
import type { TeardownQueue } from './teardown-queue.js';

export interface ShutdownSettings {
  /** TEARDOWN_GRACE: how long acknowledged teardowns get to finish (default 25 s). */
  teardownGraceMs?: number;
  redisUrl?: string;
  sweep?: { dryRun: boolean };
}

export interface ShutdownParts {
  queue: TeardownQueue;
  /** `/preview` commands: they get the same grace period, beside the teardowns. */
  commands?: CommandQueue;
  sweeper: Pick<Sweeper, 'stop' | 'settled'>;
  /** Aborted last: no forge call, or retry of one, outlives the app. */
  lifetime: AbortController;
  doors: { close(): Promise<void> };
  log: Logger;
}

/**
 * Stops the app: no more sweeps; the queue finishes what it accepted within the grace period and
 * names what it could not, with where that goes; then every call still in flight is aborted and
 * the doors close.
 */
export async function stopApp(settings: ShutdownSettings, parts: ShutdownParts): Promise<void> {
  const { queue, commands, sweeper, lifetime, doors, log } = parts;
  sweeper.stop();
  const graceMs = settings.teardownGraceMs ?? DEFAULT_TEARDOWN_GRACE_MS;
  const [teardowns, commanded] = await Promise.all([queue.stop(graceMs), commands?.stop(graceMs) ?? { unfinished: [] }]);
  if (teardowns.unfinished.length) log.error({ unfinished: teardowns.unfinished }, unfinishedAtStop(teardowns.unfinished, graceMs, settings));
  if (commanded.unfinished.length) log.error({ unfinished: commanded.unfinished }, commandsUnfinishedAtStop(commanded.unfinished, graceMs, settings));
  lifetime.abort(new Error('the app is stopping'));
  await sweeper.settled();
  await doors.close();
}

/** What a stop left undone, and truthfully where it goes: a sweep only if one runs here. */
export function unfinishedAtStop(unfinished: string[], graceMs: number, settings: Pick<ShutdownSettings, 'redisUrl' | 'sweep'>): string {
  const fate = settings.redisUrl
    ? 'their jobs stay in Redis for another replica'
    : settings.sweep && !settings.sweep.dryRun
      ? 'left for the sweep (SWEEP_INTERVAL)'
      : 'lost: this app runs no deleting sweep (SWEEP_INTERVAL with SWEEP_DRY_RUN=false), so they stay until `agent-preview sweep --delete` runs or the pull request closes again';
  return `stopped with ${unfinished.length} teardowns unfinished after the ${graceMs} ms grace period; ${fate}: ${unfinished.join('; ')}`;
}

/**
 * Commands cut off by a stop: in Redis another replica takes them over (and runs one only if it was
 * not answered yet); in memory they are lost, and the comment shows 👀 without an answer.
 */
export function commandsUnfinishedAtStop(unfinished: string[], graceMs: number, settings: Pick<ShutdownSettings, 'redisUrl'>): string {
  const fate = settings.redisUrl ? 'their jobs stay in Redis for another replica' : 'lost: their comments get no answer; post them again';
  return `stopped with ${unfinished.length} /preview commands unfinished after the ${graceMs} ms grace period; ${fate}: ${unfinished.join('; ')}`;
}
