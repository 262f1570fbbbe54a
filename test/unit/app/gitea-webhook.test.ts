import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'probot';
import { DeliveryRefused } from '../../../src/app/deliveries.js';
import { giteaWebhookHandler } from '../../../src/app/gitea-webhook.js';
import { BadDelivery, DeliveryRouter } from '../../../src/app/router.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { giteaHeaders, giteaPullRequestClosed, hmacHex, post, type Json } from '../../integration/app/fixtures.js';

const SECRET = 'whsec-gitea-door-unit-3f9a1c7e';
const GITEA = 'https://git.example';

let server: Server;
let url: string;
let router: DeliveryRouter;
/** What reached the router's handlers, and what each does with the delivery. */
let reached: Json[];
let answer: (payload: Json) => 'queued' | 'duplicate' | 'nothing' | Error;

beforeAll(async () => {
  router = new DeliveryRouter();
  router.on('pull_request.closed', (delivery) => {
    reached.push({ door: delivery.door, id: delivery.id, name: delivery.name, digest: delivery.bodyDigest, number: delivery.payload.number });
    const what = answer(delivery.payload);
    if (what instanceof Error) throw what;
    if (what !== 'nothing') delivery.acknowledge(what);
  });
  const handler = giteaWebhookHandler({
    url: GITEA,
    token: 'gitea-token-door-unit-71c3',
    webhookSecret: SECRET,
    router,
    accessFor: async () => {
      throw new DeliveryRefused('not asked while answering');
    },
    log: pino({ level: 'silent' }) as unknown as Logger,
  });
  server = createServer((req, res) => void handler(req, res).catch(() => res.writeHead(500).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/gitea/webhooks`;
});

beforeEach(() => {
  reached = [];
  answer = () => 'queued';
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  clearSecrets();
});

const closedBody = (number = 2) => JSON.stringify(giteaPullRequestClosed(GITEA, 'gitea-org', 'agents', number, { ref: 'french', sha: 'c'.repeat(40) }));

describe('the Gitea webhook door', () => {
  it("hands a signed delivery to the router with Gitea's event name, delivery id and the body's digest, and answers 202 once it is queued", async () => {
    const body = closedBody();
    const headers = giteaHeaders('pull_request', body, SECRET);
    const response = await post(url, body, headers);
    expect([response.status, JSON.parse(response.body)]).toEqual([202, { status: 'accepted' }]);
    expect(reached).toEqual([{ door: 'gitea', id: headers['x-gitea-delivery'], name: 'pull_request', digest: createHash('sha256').update(body).digest('hex'), number: 2 }]);
  });

  it("takes Forgejo's headers, and the signature in X-Hub-Signature-256 alone", async () => {
    const body = closedBody(3);
    const forgejo = { 'content-type': 'application/json', 'x-forgejo-delivery': 'f-1', 'x-forgejo-event': 'pull_request', 'x-forgejo-signature': hmacHex(SECRET, body) };
    expect((await post(url, body, forgejo)).status).toBe(202);
    const hubOnly = { 'content-type': 'application/json', 'x-gitea-delivery': 'g-1', 'x-gitea-event': 'pull_request', 'x-hub-signature-256': `sha256=${hmacHex(SECRET, body)}` };
    expect((await post(url, body, hubOnly)).status).toBe(202);
    expect(reached.map((delivery) => delivery.id)).toEqual(['f-1', 'g-1']);
  });

  it('refuses a delivery signed with anything but the secret before the router sees it', async () => {
    const body = closedBody();
    const refusals = await Promise.all([
      post(url, body, giteaHeaders('pull_request', body, undefined)),
      post(url, body, giteaHeaders('pull_request', body, 'not-the-secret')),
      post(url, body.replace('"closed"', '"closed" '), giteaHeaders('pull_request', body, SECRET)),
      post(url, body, { ...giteaHeaders('pull_request', body, undefined), 'x-gitea-signature': 'zz' }),
    ]);
    expect(refusals.map((response) => response.status)).toEqual([401, 401, 401, 401]);
    expect(reached).toEqual([]);
  });

  it('refuses what is not a signed JSON POST with a delivery id and an event name, before the router', async () => {
    const body = closedBody();
    const signed = giteaHeaders('pull_request', body, SECRET);
    const get = await fetch(url);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await post(url, body, { ...signed, 'content-type': 'text/plain' })).status).toBe(415);
    const huge = JSON.stringify({ padding: 'x'.repeat(1_100_000) });
    expect((await post(url, huge, giteaHeaders('pull_request', huge, SECRET))).status).toBe(413);
    expect((await post(url, '[1]', giteaHeaders('pull_request', '[1]', SECRET))).status).toBe(400);
    const { 'x-gitea-delivery': _a, 'x-gogs-delivery': _b, 'x-github-delivery': _c, ...noId } = signed;
    const withoutId = await post(url, body, noId);
    expect([withoutId.status, JSON.parse(withoutId.body).error]).toEqual([400, 'the delivery has no X-Gitea-Delivery and X-Gitea-Event (or X-Forgejo-) headers']);
    expect(reached).toEqual([]);
  });

  it("answers with what the handlers made of it: a duplicate and an unhandled event are 200, a handler's refusal is 400, its failure 500", async () => {
    const answers: ReturnType<typeof answer>[] = ['duplicate', 'nothing', new BadDelivery('the delivery names no pull request number'), new Error('Redis is down')];
    const statuses = [];
    for (const given of answers) {
      answer = () => given;
      const body = closedBody();
      const response = await post(url, body, giteaHeaders('pull_request', body, SECRET));
      statuses.push([response.status, response.body ? JSON.parse(response.body) : '']);
    }
    const pushed = JSON.stringify({ ref: 'refs/heads/main', repository: {} });
    const push = await post(url, pushed, giteaHeaders('push', pushed, SECRET));
    expect(statuses).toEqual([
      [200, { status: 'duplicate' }],
      [200, { status: 'ignored' }],
      [400, { error: 'the delivery names no pull request number' }],
      [500, ''],
    ]);
    expect([push.status, JSON.parse(push.body)]).toEqual([200, { status: 'ignored' }]);
  });
});
