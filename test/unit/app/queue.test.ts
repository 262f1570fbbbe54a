import type { TeardownJob } from '../../../src/app/deliveries.js';
import { openDoors, type Doors } from '../../../src/app/doors.js';
import { DurableTeardownQueue } from '../../../src/app/durable.js';
import { openQueue } from '../../../src/app/queue.js';
import { MemoryTeardownQueue, type TeardownQueue } from '../../../src/app/teardown-queue.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { LogCapture } from '../../integration/app/fixtures.js';
import { redisTestPlan, startRedisServer } from '../../integration/app/redis-server.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { pino } from 'pino';
import type { Logger } from 'probot';

const GITEA_TOKEN = 'gitea-token-queue-unit-9b4d';
const plan = redisTestPlan();

let gitea: TestForge;
let doors: Doors;

beforeAll(async () => {
  gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
  gitea.seedRepo('gitea-org', 'agents');
  // Open: a teardown asks the forge first and deletes nothing, so no platform is called.
  gitea.seedPullRequest('gitea-org', 'agents', { number: 4, headSha: 'c'.repeat(40), headRef: 'french', state: 'open' });
  doors = await openDoors(
    { gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: 'whsec-queue-unit-3c8e1a' } },
    pino({ level: 'silent' }) as unknown as Logger,
    new AbortController().signal,
  );
});

afterAll(async () => {
  await gitea.close();
  clearSecrets();
});

const job = (deliveryId: string): TeardownJob => ({
  door: 'gitea',
  deliveryId,
  bodyDigest: `body-of-${deliveryId}`,
  repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${gitea.url}/gitea-org/agents` },
  event: 'pull_request.closed',
  number: 4,
});

const platformFor = () => {
  throw new Error('a teardown of an open pull request calls no platform');
};

/** Queues a job twice, waits for it, and returns what the job's run logged. */
async function runTwice(queue: TeardownQueue, deliveryId: string): Promise<{ outcomes: string[]; logs: LogCapture }> {
  const logs = new LogCapture();
  const log = pino({ level: 'info' }, logs).child({ id: deliveryId }) as unknown as Logger;
  const outcomes = [await queue.enqueue(job(deliveryId), log), await queue.enqueue(job(deliveryId), log)];
  await queue.idle();
  return { outcomes, logs };
}

describe("the app's teardown queue", () => {
  it("is this process's memory without REDIS_URL, and runs each job through its door's access", async () => {
    const queue = await openQueue({}, { doors, platformFor, log: pino({ level: 'silent' }) as unknown as Logger });
    try {
      expect(queue).toBeInstanceOf(MemoryTeardownQueue);
      // The forge is shared with the Redis test, which may run first (--randomize).
      const before = gitea.requests.length;
      const { outcomes, logs } = await runTwice(queue, 'memory-1');
      expect(outcomes).toEqual(['queued', 'duplicate']);
      expect(logs.messages().map((line) => line.msg)).toEqual([expect.stringMatching(/the forge says pull request #4 is open; nothing is deleted$/)]);
      expect(gitea.requests.slice(before).filter((request) => request.path === '/api/v1/repos/gitea-org/agents/pulls/4')).toHaveLength(1);
    } finally {
      await queue.stop(1000);
    }
  });

  (plan.run ? it : it.skip)('is BullMQ in Redis with REDIS_URL, on the lanes of the doors open', async () => {
    const redis = await startRedisServer();
    const logs = new LogCapture();
    const queue = await openQueue({ redisUrl: redis.url, retry: { attempts: 1 } }, { doors, platformFor, log: pino({ level: 'info' }, logs) as unknown as Logger });
    try {
      expect(queue).toBeInstanceOf(DurableTeardownQueue);
      const { outcomes } = await runTwice(queue, 'durable-1');
      expect(outcomes).toEqual(['queued', 'duplicate']);
      // The worker logs with its own logger: the job's line carries the delivery id.
      expect(logs.messages().find((line) => line.id === 'durable-1')?.msg).toMatch(/pull request #4 is open; nothing is deleted$/);
    } finally {
      await queue.stop(1000);
      await redis.close();
    }
  });
});
