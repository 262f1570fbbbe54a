import { redisTestPlan } from './redis-server.js';

// Issue 27: `npm test` reported "1 skipped" for the REDIS_URL tests without saying why.
it('without a redis-server the REDIS_URL tests are skipped saying why and how to fix it, and fail where one is required (CI)', () => {
  const noRedis = { PATH: '/nonexistent' };
  expect(redisTestPlan(noRedis)).toEqual({ run: false, skip: 'redis-server cannot start here (ENOENT); install it (apt-get install -y redis-server) to run these tests' });
  expect(redisTestPlan({ ...noRedis, AGENT_PREVIEW_REQUIRE_REDIS: '1' })).toEqual({
    run: false,
    fail: 'redis-server cannot start here (ENOENT); install it (apt-get install -y redis-server) to run these tests (AGENT_PREVIEW_REQUIRE_REDIS=1: required here)',
  });
});
