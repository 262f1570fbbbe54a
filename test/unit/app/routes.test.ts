import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'probot';
import { openDoors } from '../../../src/app/doors.js';
import { DeliveryRouter } from '../../../src/app/router.js';
import { appRoutes, type RequestHandler } from '../../../src/app/routes.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { githubExample, githubHeaders, giteaHeaders, giteaPullRequestClosed, LogCapture, post } from '../../integration/app/fixtures.js';

const TOKEN = 'ghs_routesUnitToken0123456789';
const SECRET = 'whsec-routes-unit-6e2b9d4a1c';
const GITEA_SECRET = 'whsec-gitea-routes-unit-1f7a3c';

async function serve(handle: RequestHandler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

afterAll(() => clearSecrets());

describe("the app's HTTP routes", () => {
  it('answer /healthz, each open door’s webhook path, and 404 for the rest; a failing request is logged and answered 500', async () => {
    const logs = new LogCapture();
    const log = pino({ level: 'info' }, logs) as unknown as Logger;
    const doors = await openDoors(
      {
        githubToken: TOKEN,
        webhookSecret: SECRET,
        githubBaseUrl: 'http://127.0.0.1:9',
        gitea: { url: 'https://git.example', token: 'gitea-token-routes-5c1e', webhookSecret: GITEA_SECRET },
      },
      log,
      new AbortController().signal,
    );
    const router = new DeliveryRouter();
    router.on('pull_request.closed', (delivery) => {
      if (delivery.door === 'gitea') throw new Error('the queue is unreachable');
      delivery.acknowledge('queued');
    });
    const { url, server } = await serve(await appRoutes({ doors, router, log }));
    try {
      const health = await fetch(`${url}/healthz/`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      expect((await fetch(`${url}/healthz`, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${url}/api/other/webhooks`, { method: 'POST' })).status).toBe(404);

      const payload = await githubExample('pull_request', 'closed');
      const body = JSON.stringify(payload);
      expect((await post(`${url}/api/github/webhooks`, body, githubHeaders('pull_request', body, SECRET))).status).toBe(200);
      expect((await post(`${url}/api/github/webhooks`, body, githubHeaders('pull_request', body, 'not-the-secret'))).status).toBe(400);
      // Bounded before Probot reads it.
      const huge = JSON.stringify({ ...payload, padding: 'x'.repeat(1_100_000) });
      expect((await post(`${url}/api/github/webhooks`, huge, githubHeaders('pull_request', huge, SECRET))).status).toBe(413);

      const giteaBody = JSON.stringify(giteaPullRequestClosed('https://git.example', 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) }));
      const failed = await post(`${url}/api/gitea/webhooks`, giteaBody, giteaHeaders('pull_request', giteaBody, GITEA_SECRET));
      expect([failed.status, JSON.parse(failed.body)]).toEqual([500, { error: 'internal error' }]);
      expect(logs.messages().find((line) => line.msg === 'request failed')).toMatchObject({ level: 50, error: 'the queue is unreachable', path: '/api/gitea/webhooks' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await doors.close();
    }
  });

  it('answer 404 on the webhook path of a door that is not open', async () => {
    const log = pino({ level: 'silent' }) as unknown as Logger;
    const { url, server } = await serve(await appRoutes({ doors: {}, router: new DeliveryRouter(), log }));
    try {
      const body = '{}';
      expect((await post(`${url}/api/github/webhooks`, body, githubHeaders('pull_request', body, SECRET))).status).toBe(404);
      expect((await post(`${url}/api/gitea/webhooks`, body, giteaHeaders('pull_request', body, GITEA_SECRET))).status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
