import { Redis } from 'ioredis';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { HoldableClock } from '../../support/clock.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import {
  closedGiteaPulls,
  deliver,
  exampleClose,
  giteaAppEnv,
  giteaCloseBody,
  giteaHeaders,
  LogCapture,
  post,
  PreviewSeeder,
  startAppProcess,
  until,
  type AppProcess,
} from './fixtures.js';
import { redisTestPlan, startRedisServer, type RedisServer } from './redis-server.js';
import { startTestApp } from './test-app.js';

// With REDIS_URL, teardowns are durable jobs in a real redis-server that this test starts, shared by
// replicas that run as their own processes.
const API_KEY = 'sk-app-redis-Hq3v8Lm1Zt';
const GITHUB_TOKEN = 'ghs_appRedisToken5d6e7f8a9b';
const GITEA_TOKEN = 'gitea-token-redis-4be90c1d';
const WEBHOOK_SECRET = 'whsec-github-redis-8c3a1f0e72';
const GITEA_SECRET = 'whsec-gitea-redis-61d2b7e9aa';
// More teardowns than a replica runs at once (DEFAULT_BACKGROUND_RETRY.concurrency, 8): when a replica
// dies, some of its jobs are in flight and the rest still wait in Redis.
const BURST = 12;

const plan = redisTestPlan();
if (!plan.run && plan.skip) console.warn(`skipping the REDIS_URL tests: ${plan.skip}`);
if (!plan.run && plan.fail) {
  it('a redis-server to run the REDIS_URL tests against', () => {
    throw new Error(plan.fail);
  });
}
const describeWithRedis = plan.run ? describe : describe.skip;

describeWithRedis(plan.run ? 'teardowns with REDIS_URL' : `teardowns with REDIS_URL (skipped: ${plan.skip ?? plan.fail})`, () => {
  let redis: RedisServer;
  let clock: HoldableClock;
  let local: LocalPlatform;
  let gitea: TestForge;
  let seeder: PreviewSeeder;
  const replicas: AppProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    clock = new HoldableClock();
    local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 5, clock });
    gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
    gitea.seedRepo('gitea-org', 'agents');
    seeder = new PreviewSeeder(local, API_KEY);
  });

  afterEach(async () => {
    for (const replica of replicas.splice(0)) {
      replica.kill('SIGKILL');
      await replica.exited;
      for (const secret of [API_KEY, GITEA_TOKEN, GITEA_SECRET]) expect(replica.logs.text).not.toContain(secret);
    }
    await Promise.all([local.close(), gitea.close(), redis.close()]);
  });

  afterAll(() => clearSecrets());

  async function burst() {
    const previews = await closedGiteaPulls(gitea, seeder, BURST);
    return { previews, bodies: previews.map((_, index) => giteaCloseBody(gitea, index + 1)) };
  }

  async function replica(extra: Record<string, string> = {}): Promise<AppProcess> {
    const started = await startAppProcess({
      ...giteaAppEnv(gitea, local, { apiKey: API_KEY, giteaToken: GITEA_TOKEN, giteaSecret: GITEA_SECRET }),
      REDIS_URL: redis.url,
      TEARDOWN_TAKEOVER: '2s',
      ...extra,
    });
    replicas.push(started);
    return started;
  }

  const deleted = () => local.requests.filter((request) => request.route === 'deployments.delete' && request.status === 200).length;

  it('a replica killed with teardowns queued loses none: a second replica finishes them all', async () => {
    const { previews, bodies } = await burst();
    // No delete is answered while the first replica lives: its jobs are in flight or still wait in Redis when it dies.
    local.faults.add({ route: 'deployments.delete', latencyMs: 1, times: BURST });
    clock.hold();
    const first = await replica();
    const deliveries = await Promise.all(bodies.map((body) => deliver(first.url, 'gitea', 'pull_request', body, GITEA_SECRET)));
    expect(deliveries.map((delivery) => delivery.status)).toEqual(bodies.map(() => 202));
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(deleted()).toBe(0);
    clock.release();

    await replica();
    const statuses = await until(
      () => Promise.all(previews.map((preview) => seeder.status(preview.id))),
      (list) => list.every((status) => status === 'DELETED'),
      45_000,
    );
    expect(statuses).toEqual(previews.map(() => 'DELETED'));
  });

  it('SIGTERM mid-burst: the replica exits at once with its queued teardowns left in Redis, and another replica finishes them', async () => {
    const { previews, bodies } = await burst();
    // No delete is answered until the replica has taken SIGTERM: its jobs are in flight or still wait in Redis then.
    local.faults.add({ route: 'deployments.delete', latencyMs: 1, times: BURST });
    clock.hold();
    const first = await replica({ TEARDOWN_GRACE: '20s' });
    const deliveries = await Promise.all(bodies.map((body) => deliver(first.url, 'gitea', 'pull_request', body, GITEA_SECRET)));
    expect(deliveries.map((delivery) => delivery.status)).toEqual(bodies.map(() => 202));
    first.kill('SIGTERM');
    await until(
      () => Promise.resolve(first.logs.messages()),
      (lines) => lines.some((line) => String(line.msg).startsWith('stopping')),
    );
    clock.release();
    expect(await first.exited).toBe(0);
    expect(deleted()).toBeLessThan(BURST);
    expect(first.logs.messages().filter((line) => line.level >= 50)).toEqual([]);

    await replica();
    await until(
      () => Promise.all(previews.map((preview) => seeder.status(preview.id))),
      (list) => list.every((status) => status === 'DELETED'),
      30_000,
    );
  });

  it('a delivery Redis failed to store gets a 500, and the forge redelivering it stores it: its preview is removed', async () => {
    const [preview] = await closedGiteaPulls(gitea, seeder, 1);
    // The app's Redis user may write keys but, for now, run no script: BullMQ stores a job with one,
    // so Redis fails between anything written before the job and the job itself.
    const admin = new Redis(redis.url);
    try {
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>app-redis-pw-71c9', '~*', '&*', '+@all', '-evalsha', '-eval');
      const url = new URL(redis.url);
      url.username = 'app';
      url.password = 'app-redis-pw-71c9';
      const only = await replica({ REDIS_URL: url.toString() });
      const body = giteaCloseBody(gitea, 1);
      const headers = giteaHeaders('pull_request', body, GITEA_SECRET);
      expect((await post(`${only.url}/api/gitea/webhooks`, body, headers)).status).toBe(500);

      // Redis is whole again; the forge redelivers the same delivery.
      await admin.call('ACL', 'SETUSER', 'app', '+@all');
      expect((await post(`${only.url}/api/gitea/webhooks`, body, headers)).status).toBe(202);
      await seeder.deleted(preview.id, 30_000);
      expect(only.logs.text).not.toContain('app-redis-pw-71c9');
    } finally {
      admin.disconnect();
    }
  });

  it('a delivery id is seen once across replicas', async () => {
    gitea.seedPullRequest('gitea-org', 'agents', { number: 1, headSha: 'c'.repeat(40), headRef: 'branch-1', state: 'closed' });
    const [a, b] = await Promise.all([replica(), replica()]);
    const body = giteaCloseBody(gitea, 1);
    const headers = giteaHeaders('pull_request', body, GITEA_SECRET);
    expect((await post(`${a.url}/api/gitea/webhooks`, body, headers)).status).toBe(202);
    const again = await post(`${b.url}/api/gitea/webhooks`, body, headers);
    expect([again.status, JSON.parse(again.body)]).toEqual([200, { status: 'duplicate' }]);
  });

  it("Probot's GitHub throttling keeps its limiters in Redis", async () => {
    const github = await startTestForge({ flavor: 'github', token: GITHUB_TOKEN });
    const logs = new LogCapture();
    const { payload, preview } = await exampleClose(github, seeder);
    const app = await startTestApp({
      local,
      apiKey: API_KEY,
      githubToken: GITHUB_TOKEN,
      webhookSecret: WEBHOOK_SECRET,
      githubBaseUrl: github.apiUrl,
      redisUrl: redis.url,
      logStream: logs,
    });
    const client = new Redis(redis.url);
    try {
      expect((await deliver(app.url, 'github', 'pull_request', JSON.stringify(payload), WEBHOOK_SECRET)).status).toBe(200);
      await seeder.deleted(preview.id);
      await app.idle();
      const keys = await client.keys('b_octokit-*');
      expect(keys.some((key) => key.startsWith('b_octokit-global-agent-preview'))).toBe(true);
      expect(logs.messages().filter((line) => line.level >= 50)).toEqual([]);
    } finally {
      client.disconnect();
      await app.close();
      await github.close();
    }
  });
});
