/**
 * Where commands wait: one pull request's commands run one at a time, in memory and across replicas
 * in Redis (BullMQ, against a real redis-server), while other pull requests' run beside them; a
 * comment is accepted once however it is delivered again; and reviewers' conversations outlive the
 * process that kept them.
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { conversationKey, RedisConversationStore } from '../../../src/commands/conversations.js';
import { DurableCommandQueue } from '../../../src/commands/durable-queue.js';
import type { CommandJob } from '../../../src/commands/job.js';
import { MemoryCommandQueue, type CommandQueue, type CommandTaskFor } from '../../../src/commands/queue.js';
import { redisTestPlan, startRedisServer, type RedisServer } from '../app/redis-server.js';

const log = pino({ level: 'silent' });

function job(number: number, commentId: number, deliveryId = `delivery-${commentId}`): CommandJob {
  return {
    door: 'gitea',
    deliveryId,
    bodyDigest: `body-${commentId}`,
    repository: { owner: 'acme', name: 'agents', htmlUrl: 'https://gitea.example/acme/agents' },
    number,
    comment: { id: commentId, author: 'alice', line: '/preview help' },
  };
}

/** Tasks that record when each command starts and ends, and wait for the test to let them finish. */
function recorder() {
  const events: string[] = [];
  const gates = new Map<number, () => void>();
  const started = new Map<number, () => void>();
  const startedOnce = new Map<number, Promise<void>>();
  const whenStarted = (id: number) => {
    if (!startedOnce.has(id)) startedOnce.set(id, new Promise<void>((resolve) => started.set(id, resolve)));
    return startedOnce.get(id)!;
  };
  const taskFor: CommandTaskFor = (command) => ({
    key: `pr-${command.number}`,
    lane: command.door,
    what: `comment ${command.comment.id}`,
    log,
    run: async () => {
      events.push(`start ${command.comment.id}`);
      void whenStarted(command.comment.id);
      started.get(command.comment.id)!();
      await new Promise<void>((resolve) => gates.set(command.comment.id, resolve));
      events.push(`end ${command.comment.id}`);
    },
  });
  const finish = async (id: number) => {
    await whenStarted(id);
    gates.get(id)!();
  };
  return { events, taskFor, whenStarted, finish };
}

async function oneAtATimePerPull(queues: [CommandQueue, CommandQueue], rec: ReturnType<typeof recorder>) {
  // Two commands on pull request 1 (one through each queue, as two replicas would take them) and one on pull request 2.
  expect(await queues[0].enqueue(job(1, 11), log)).toBe('queued');
  expect(await queues[1].enqueue(job(1, 12), log)).toBe('queued');
  expect(await queues[0].enqueue(job(2, 21), log)).toBe('queued');
  await rec.whenStarted(11);
  // Pull request 2's command runs beside pull request 1's first one.
  await rec.whenStarted(21);
  expect(rec.events).not.toContain('start 12');
  await rec.finish(21);
  await rec.finish(11);
  await rec.finish(12);
  await Promise.all(queues.map((queue) => queue.idle()));
  expect(rec.events.indexOf('start 12')).toBeGreaterThan(rec.events.indexOf('end 11'));
}

describe('commands in memory', () => {
  it('run one at a time per pull request, others beside them, and a comment is accepted once', async () => {
    const rec = recorder();
    const queue = new MemoryCommandQueue(rec.taskFor);
    await oneAtATimePerPull([queue, queue], rec);
    // The same comment again: under a fresh delivery id, with another body, or redelivered.
    expect(await queue.enqueue(job(1, 11, 'another-delivery'), log)).toBe('duplicate');
    expect(await queue.enqueue({ ...job(1, 11), bodyDigest: 'other-body', deliveryId: 'x' }, log)).toBe('duplicate');
    await queue.stop(1000);
  });
});

const plan = redisTestPlan();
const describeWithRedis = plan.run ? describe : describe.skip;

describeWithRedis(plan.run ? 'commands with REDIS_URL' : `commands with REDIS_URL (skipped: ${'skip' in plan ? plan.skip : ''})`, () => {
  let redis: RedisServer;

  beforeEach(async () => {
    redis = await startRedisServer();
  });

  afterEach(async () => {
    await redis.close();
  });

  it('run one at a time per pull request across replicas, others beside them, and a comment is stored once', async () => {
    const rec = recorder();
    const replicas: [DurableCommandQueue, DurableCommandQueue] = [
      new DurableCommandQueue({ redisUrl: redis.url, lanes: ['gitea'], taskFor: rec.taskFor, log }),
      new DurableCommandQueue({ redisUrl: redis.url, lanes: ['gitea'], taskFor: rec.taskFor, log }),
    ];
    try {
      await oneAtATimePerPull(replicas, rec);
      expect(await replicas[1].enqueue(job(1, 11, 'another-delivery'), log)).toBe('duplicate');
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop(1000)));
    }
  });

  it("keeps a reviewer's conversation for the next process", async () => {
    const key = conversationKey({ door: 'gitea', repo: 'gitea.example/acme/agents', number: 1, agent: 'hello-agent', reviewer: 'Alice' });
    const first = new Redis(redis.url);
    await new RedisConversationStore(first).set(key, {
      sessionId: 'task-1',
      deploymentId: 'dep-1',
      turns: [{ message: 'Hello', reply: 'Hi' }],
      updatedAt: new Date().toISOString(),
    });
    first.disconnect();
    const second = new Redis(redis.url);
    expect(await new RedisConversationStore(second).get(key)).toMatchObject({ sessionId: 'task-1', turns: [{ message: 'Hello', reply: 'Hi' }] });
    expect(await second.pttl(`agent-preview:conversation:${key}`)).toBeGreaterThan(29 * 86_400_000);
    second.disconnect();
  });
});
