import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { HoldableClock } from '../../support/clock.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { closedGiteaPulls, deliver, giteaAppEnv, giteaCloseBody, PreviewSeeder, startAppProcess, until, type AppProcess } from './fixtures.js';

// The app as its own process, stopped with SIGTERM in the middle of a burst of closes: every
// acknowledged teardown is finished within TEARDOWN_GRACE before the process exits.
const API_KEY = 'sk-app-shutdown-5Rt2wQ9mZx';
const GITEA_TOKEN = 'gitea-token-shutdown-71c0de';
const GITEA_SECRET = 'whsec-gitea-shutdown-2f8a6c4e1b';
const KEYS = { apiKey: API_KEY, giteaToken: GITEA_TOKEN, giteaSecret: GITEA_SECRET };
const BURST = 40;

let clock: HoldableClock;
let local: LocalPlatform;
let gitea: TestForge;
let app: AppProcess | undefined;

beforeEach(async () => {
  clock = new HoldableClock();
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 5, clock });
  gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
  gitea.seedRepo('gitea-org', 'agents');
});

afterEach(async () => {
  if (app && (await Promise.race([app.exited.then(() => true), Promise.resolve(false)])) === false) app.kill('SIGKILL');
  await Promise.all([local.close(), gitea.close()]);
  for (const secret of [API_KEY, GITEA_TOKEN, GITEA_SECRET]) expect(app?.logs.text ?? '').not.toContain(secret);
});

afterAll(() => clearSecrets());

it('SIGTERM in the middle of a burst: the acknowledged teardowns all finish before the process exits', async () => {
  const seeder = new PreviewSeeder(local, API_KEY);
  const previews = await closedGiteaPulls(gitea, seeder, BURST);
  // No delete is answered until the app has taken SIGTERM: every teardown is queued or in flight then.
  local.faults.add({ route: 'deployments.delete', latencyMs: 1, times: BURST });
  clock.hold();

  app = await startAppProcess({ ...giteaAppEnv(gitea, local, KEYS), TEARDOWN_GRACE: '50s' });
  const deliveries = await Promise.all(previews.map((_, index) => deliver(app!.url, 'gitea', 'pull_request', giteaCloseBody(gitea, index + 1), GITEA_SECRET)));
  expect(deliveries.map((delivery) => delivery.status)).toEqual(previews.map(() => 202));
  const deletedBeforeStop = local.requests.filter((request) => request.route === 'deployments.delete' && request.status === 200).length;
  app.kill('SIGTERM');
  await until(
    () => Promise.resolve(app!.logs.messages()),
    (lines) => lines.some((line) => String(line.msg).startsWith('stopping')),
  );
  clock.release();

  expect(await app.exited).toBe(0);
  expect(deletedBeforeStop).toBe(0);
  const statuses = await Promise.all(previews.map((preview) => seeder.status(preview.id)));
  expect(statuses).toEqual(previews.map(() => 'DELETED'));
  expect(app.logs.messages().filter((line) => line.level >= 50)).toEqual([]);
});

it('without Redis or a deleting sweep, a SIGTERM that outlasts the grace period says plainly which teardowns are lost', async () => {
  await closedGiteaPulls(gitea, new PreviewSeeder(local, API_KEY), 4);
  // Deletes slower than the grace period: every teardown is still running when it ends.
  local.faults.add({ route: 'deployments.delete', latencyMs: 600, times: 4 });
  app = await startAppProcess({ ...giteaAppEnv(gitea, local, KEYS), TEARDOWN_GRACE: '1ms' });
  expect(app.logs.messages().find((line) => line.level === 40 && /neither REDIS_URL nor SWEEP_INTERVAL is set/.test(line.msg))).toBeDefined();
  for (let number = 1; number <= 4; number++) expect((await deliver(app.url, 'gitea', 'pull_request', giteaCloseBody(gitea, number), GITEA_SECRET)).status).toBe(202);
  await until(
    async () => local.requests.filter((request) => request.route === 'deployments.delete').length,
    (started) => started > 0,
  );
  app.kill('SIGTERM');

  expect(await app.exited).toBe(0);
  const stop = app.logs.messages().find((line) => line.level === 50 && /teardowns unfinished/.test(line.msg));
  expect(stop?.msg).toMatch(/lost: this app runs no deleting sweep/);
  expect(stop?.unfinished.length).toBeGreaterThan(0);
  expect(app.logs.text).not.toMatch(/left for the sweep/);
});
