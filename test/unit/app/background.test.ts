import { pino } from 'pino';
import { BackgroundQueue } from '../../../src/app/background.js';
import { InputError } from '../../../src/errors.js';

/** A promise the test or a task opens: what the test awaits instead of a timer. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function logger() {
  const lines: Record<string, any>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('the background queue', () => {
  it('retries with backoff until a task succeeds', async () => {
    const { log, lines } = logger();
    const queue = new BackgroundQueue({ attempts: 5, firstDelayMs: 5, maxDelayMs: 20 });
    const attempts: number[] = [];
    queue.enqueue({
      key: 'a',
      what: 'flaky',
      log,
      run: async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('503');
      },
    });
    await queue.idle();
    expect(attempts).toEqual([1, 2, 3]);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(2);
    expect(lines.some((line) => line.level === 50)).toBe(false);
  });

  it('gives up after the last attempt and says the sweep is left with it; input errors are not retried', async () => {
    const { log, lines } = logger();
    const queue = new BackgroundQueue({ attempts: 3, firstDelayMs: 1, maxDelayMs: 2 });
    let broken = 0;
    let invalid = 0;
    queue.enqueue({
      key: 'a',
      what: 'broken',
      log,
      run: async () => {
        broken++;
        throw new Error('down');
      },
    });
    queue.enqueue({
      key: 'b',
      what: 'invalid',
      log,
      run: async () => {
        invalid++;
        throw new InputError('bad config');
      },
    });
    await queue.idle();
    expect([broken, invalid]).toEqual([3, 1]);
    const errors = lines.filter((line) => line.level === 50);
    expect(errors.map((line) => [line.task, line.leftForSweep])).toEqual([
      ['invalid', false],
      ['broken', true],
    ]);
    expect(errors[1].msg).toMatch(/failed after 3 attempts; left for the sweep: down/);
  });

  it('runs tasks of one key one after another, and other keys alongside', async () => {
    const { log } = logger();
    const queue = new BackgroundQueue();
    const events: string[] = [];
    // The first task of repo#1 ends only after the task of repo#2 has run: no clock decides the order.
    let otherEnded!: () => void;
    const otherDone = new Promise<void>((resolve) => (otherEnded = resolve));
    const task = (key: string, name: string, waitFor?: Promise<void>, onEnd?: () => void) => ({
      key,
      what: name,
      log,
      run: async () => {
        events.push(`${name} start`);
        await waitFor;
        events.push(`${name} end`);
        onEnd?.();
      },
    });
    queue.enqueue(task('repo#1', 'first', otherDone));
    queue.enqueue(task('repo#1', 'second'));
    queue.enqueue(task('repo#2', 'other', undefined, otherEnded));
    await queue.idle();
    expect(events.indexOf('second start')).toBeGreaterThan(events.indexOf('first end'));
    expect(events.indexOf('other end')).toBeLessThan(events.indexOf('first end'));
  });

  it('runs at most `concurrency` tasks at once and every queued task still runs', async () => {
    const { log } = logger();
    const queue = new BackgroundQueue({ attempts: 1, concurrency: 3 });
    const TASKS = 12;
    let running = 0;
    let most = 0;
    const finished: string[] = [];
    // Each task holds its slot until the test releases it, and says when it starts.
    const gates = Array.from({ length: TASKS }, () => gate());
    const starts = Array.from({ length: TASKS }, () => gate());
    const startOrder: number[] = [];
    for (let index = 0; index < TASKS; index++) {
      queue.enqueue({
        key: `task-${index}`,
        what: `task ${index}`,
        log,
        run: async () => {
          running++;
          most = Math.max(most, running);
          startOrder.push(index);
          starts[startOrder.length - 1].open();
          await gates[index].opened;
          running--;
          finished.push(`task-${index}`);
        },
      });
    }
    await Promise.all(starts.slice(0, 3).map((start) => start.opened));
    // Each task released hands its slot to the next one waiting: three run at every step.
    for (let started = 3; started < TASKS; started++) {
      gates[startOrder[started - 3]].open();
      await starts[started].opened;
      expect(running).toBe(3);
    }
    expect(finished).toHaveLength(TASKS - 3);
    for (const each of gates) each.open();
    await queue.idle();
    expect(most).toBe(3);
    expect(finished.sort()).toEqual(Array.from({ length: TASKS }, (_, index) => `task-${index}`).sort());
  });

  it('a task waiting for its next try holds no slot, and one lane never waits for another', async () => {
    const { log } = logger();
    const queue = new BackgroundQueue({ attempts: 3, firstDelayMs: 60_000, maxDelayMs: 60_000, concurrency: 1 });
    let failing = 0;
    queue.enqueue({
      key: 'down',
      lane: 'github',
      what: 'down',
      log,
      run: async () => {
        failing++;
        throw new Error('503');
      },
    });
    queue.enqueue({ key: 'down', lane: 'github', what: 'down', log, run: async () => undefined });
    const sameLane = gate();
    const otherLane = gate();
    queue.enqueue({ key: 'other', lane: 'github', what: 'same lane', log, run: async () => sameLane.open() });
    queue.enqueue({ key: 'gitea', lane: 'gitea', what: 'other lane', log, run: async () => otherLane.open() });
    // Both run while the failing task waits a minute for its second try.
    await Promise.all([sameLane.opened, otherLane.opened]);
    expect(failing).toBe(1);
    const report = await queue.stop(0);
    expect(report.unfinished).toEqual(['down', 'down']);
  });

  it('stop() finishes queued work within the grace period, and aborts what is left after it', async () => {
    const { log, lines } = logger();
    const queue = new BackgroundQueue({ attempts: 1, concurrency: 1 });
    const finished: string[] = [];
    // The work can finish only after stop() has been called: a running task and two queued behind it.
    const work = gate();
    for (const name of ['a', 'b', 'c']) {
      queue.enqueue({ key: name, what: name, log, run: async () => void (await work.opened, finished.push(name)) });
    }
    const stopped = queue.stop(60_000);
    work.open();
    expect(await stopped).toEqual({ unfinished: [] });
    expect(finished).toEqual(['a', 'b', 'c']);

    const hanging = new BackgroundQueue({ attempts: 5 });
    hanging.enqueue({ key: 'h', what: 'hangs', log, run: (_attempt, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))) });
    expect(await hanging.stop(10)).toEqual({ unfinished: ['hangs'] });
    // What becomes of it (another replica, a sweep, nothing) is the server's stop report's to say.
    expect(lines.find((line) => line.task === 'hangs' && line.level === 40)).toMatchObject({ attempt: 1, msg: 'hangs: attempt 1 cut off by the shutdown' });
  });
});
