import { pino } from 'pino';
import type { Logger } from 'probot';
import type { BackgroundTask } from '../../../src/app/background.js';
import type { TeardownJob } from '../../../src/app/deliveries.js';
import { stopApp, unfinishedAtStop } from '../../../src/app/shutdown.js';
import type { CommandJob } from '../../../src/commands/job.js';
import { MemoryCommandQueue } from '../../../src/commands/queue.js';
import { MemoryTeardownQueue } from '../../../src/app/teardown-queue.js';
import { LogCapture } from '../../integration/app/fixtures.js';

const job: TeardownJob = {
  door: 'gitea',
  deliveryId: 'held-1',
  repository: { owner: 'gitea-org', name: 'agents', htmlUrl: 'https://git.example/gitea-org/agents' },
  event: 'pull_request.closed',
  number: 2,
};

/** Tasks that run until the queue cuts them off, each named `<kind> of <delivery id>`. */
const runningUntilCutOff =
  (kind: string) =>
  (held: { deliveryId: string }, log: Logger): BackgroundTask => ({
    key: held.deliveryId,
    what: `${kind} of ${held.deliveryId}`,
    log,
    run: (_attempt, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
  });

/** A logger whose lines land in `logs`. */
function capturedLog(): { logs: LogCapture; log: Logger } {
  const logs = new LogCapture();
  return { logs, log: pino({ level: 'info' }, logs) as unknown as Logger };
}

describe('stopping the app', () => {
  it('stops the sweeps, gives the queue its grace period, names what it left and where that goes, then aborts calls in flight and closes the doors', async () => {
    const steps: string[] = [];
    const lifetime = new AbortController();
    lifetime.signal.addEventListener('abort', () => steps.push('calls aborted'));
    const queue = new MemoryTeardownQueue(runningUntilCutOff('teardown'));
    const { logs, log } = capturedLog();
    await queue.enqueue(job, log);

    await stopApp(
      { teardownGraceMs: 1, sweep: { dryRun: false } },
      {
        queue,
        sweeper: { stop: () => void steps.push('sweeps stopped'), settled: async () => void steps.push('sweep settled') },
        lifetime,
        doors: { close: async () => void steps.push('doors closed') },
        log,
      },
    );
    expect(steps).toEqual(['sweeps stopped', 'calls aborted', 'sweep settled', 'doors closed']);
    expect(logs.messages().filter((line) => line.level >= 50)).toEqual([
      expect.objectContaining({
        unfinished: ['teardown of held-1'],
        msg: expect.stringMatching(/after the 1 ms grace period; left for the sweep \(SWEEP_INTERVAL\): teardown of held-1$/),
      }),
    ]);
  });

  it('gives /preview commands the same grace period, and says what became of those it cut off', async () => {
    const command: CommandJob = { ...job, deliveryId: 'held-2', bodyDigest: 'b', comment: { id: 5, author: 'alice', line: '/preview redeploy' } };
    const commands = new MemoryCommandQueue(runningUntilCutOff('command'));
    const { logs, log } = capturedLog();
    await commands.enqueue(command, log);
    await stopApp(
      { teardownGraceMs: 1 },
      {
        queue: new MemoryTeardownQueue(() => ({ key: 'none', what: 'none', log, run: async () => undefined })),
        commands,
        sweeper: { stop: () => undefined, settled: async () => undefined },
        lifetime: new AbortController(),
        doors: { close: async () => undefined },
        log,
      },
    );
    expect(logs.messages().filter((line) => line.level >= 50)).toEqual([
      expect.objectContaining({
        unfinished: ['command of held-2'],
        msg: 'stopped with 1 /preview commands unfinished after the 1 ms grace period; lost: their comments get no answer; post them again: command of held-2',
      }),
    ]);
  });

  it('says truthfully where unfinished teardowns go: Redis, a deleting sweep, or nowhere', () => {
    expect(unfinishedAtStop(['a'], 10, { redisUrl: 'redis://x' })).toMatch(/their jobs stay in Redis for another replica: a$/);
    expect(unfinishedAtStop(['a', 'b'], 10, { sweep: { dryRun: false } })).toBe(
      'stopped with 2 teardowns unfinished after the 10 ms grace period; left for the sweep (SWEEP_INTERVAL): a; b',
    );
    expect(unfinishedAtStop(['a'], 10, { sweep: { dryRun: true } })).toMatch(/lost: this app runs no deleting sweep/);
    expect(unfinishedAtStop(['a'], 10, {})).toMatch(/lost: this app runs no deleting sweep/);
  });
});
