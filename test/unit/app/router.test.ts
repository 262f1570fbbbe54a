import { pino } from 'pino';
import type { Logger } from 'probot';
import { DeliveryRefused, type AccessFor, type DoorName } from '../../../src/app/deliveries.js';
import { giteaAccessFor } from '../../../src/app/gitea.js';
import { BadDelivery, DeliveryRouter, repositoryOf, type Delivery } from '../../../src/app/router.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { githubExample, giteaPullRequestClosed, type Json } from '../../integration/app/fixtures.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';

const GITEA_TOKEN = 'gitea-token-router-unit-5c2e';
const log = pino({ level: 'silent' }) as unknown as Logger;

let gitea: TestForge;
let giteaAccess: AccessFor;

beforeAll(async () => {
  gitea = await startTestForge({ flavor: 'gitea', token: GITEA_TOKEN });
  gitea.seedRepo('gitea-org', 'agents');
  giteaAccess = giteaAccessFor({ url: gitea.url, token: GITEA_TOKEN, webhookSecret: 'unused-here-0123456789' });
});

afterAll(async () => {
  await gitea.close();
  clearSecrets();
});

function delivery(door: DoorName, name: string, payload: Json, accessFor: AccessFor = giteaAccess): Delivery {
  return { door, id: `${door}-delivery-1`, name, payload, bodyDigest: 'd'.repeat(64), log, accessFor };
}

/** Gitea's `pull_request` `closed` delivery, as Gitea 1.22 sends it (test/integration/app/fixtures.ts). */
const giteaClosed = () => giteaPullRequestClosed(gitea.url, 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) });

describe('the delivery router', () => {
  it("runs a handler for its event and action, with the door's context, for GitHub's payload and Gitea's alike", async () => {
    const router = new DeliveryRouter();
    const seen: Json[] = [];
    router.on('pull_request.closed', (event) => {
      seen.push({ door: event.door, id: event.id, name: event.name, number: event.payload.number, repository: event.repository, digest: event.bodyDigest });
    });
    const github = await githubExample('pull_request', 'closed');
    expect(await router.receive(delivery('github', 'pull_request', github))).toBe('ignored');
    expect(await router.receive(delivery('gitea', 'pull_request', giteaClosed()))).toBe('ignored');
    expect(await router.receive(delivery('gitea', 'pull_request', { ...giteaClosed(), action: 'opened' }))).toBe('ignored');
    expect(seen).toEqual([
      {
        door: 'github',
        id: 'github-delivery-1',
        name: 'pull_request',
        number: github.number,
        repository: { owner: 'Codertocat', name: 'Hello-World', htmlUrl: github.repository.html_url },
        digest: 'd'.repeat(64),
      },
      {
        door: 'gitea',
        id: 'gitea-delivery-1',
        name: 'pull_request',
        number: 2,
        repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${gitea.url}/gitea-org/agents` },
        digest: 'd'.repeat(64),
      },
    ]);
  });

  it("does not reject Gitea's own event names and payloads: an event nobody handles is ignored, a comment reaches issue_comment.created", async () => {
    const router = new DeliveryRouter();
    const comments: Json[] = [];
    router.on('issue_comment.created', (event) => {
      comments.push({ door: event.door, body: event.payload.comment.body, isPull: (event.payload as Json).is_pull });
    });
    // Gitea's names for review events (go-gitea/gitea@06c5f30:modules/webhook/type.go, Event()).
    expect(
      await router.receive(delivery('gitea', 'pull_request_approved', { ...giteaClosed(), action: 'reviewed', review: { type: 'pull_request_review_approved', content: '' } })),
    ).toBe('ignored');
    const repository = giteaClosed().repository;
    // IssueCommentPayload (go-gitea/gitea@040cb8b:modules/structs/hook.go): no installation, `is_pull`.
    const comment = {
      action: 'created',
      issue: { number: 2, pull_request: { merged: false } },
      comment: { id: 9, body: '/preview redeploy' },
      repository,
      sender: repository.owner,
      is_pull: true,
    };
    expect(await router.receive(delivery('gitea', 'issue_comment', comment))).toBe('ignored');
    expect(comments).toEqual([{ door: 'gitea', body: '/preview redeploy', isPull: true }]);
  });

  it('answers with what the handlers made of the delivery: queued over duplicate over nothing', async () => {
    const router = new DeliveryRouter();
    router.on('pull_request.closed', (event) => event.acknowledge('duplicate'));
    router.on('pull_request', (event) => {
      if (event.payload.pull_request.number === 2) event.acknowledge('queued');
    });
    expect(await router.receive(delivery('gitea', 'pull_request', giteaClosed()))).toBe('queued');
    const other = giteaClosed();
    other.pull_request.number = 3;
    expect(await router.receive(delivery('gitea', 'pull_request', other))).toBe('duplicate');
  });

  it("rejects with a handler's own error, its status kept (not @octokit/webhooks' AggregateError), a server error before a refusal", async () => {
    const router = new DeliveryRouter();
    router.on('pull_request.closed', () => {
      throw new BadDelivery('the delivery names no pull request number');
    });
    const refused = await router.receive(delivery('gitea', 'pull_request', giteaClosed())).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(BadDelivery);
    expect(refused).toMatchObject({ status: 400, message: 'the delivery names no pull request number' });
    expect(refused).not.toHaveProperty('event');

    router.on('pull_request', () => {
      throw new Error('Redis is down');
    });
    await expect(router.receive(delivery('gitea', 'pull_request', giteaClosed()))).rejects.toThrow('Redis is down');
  });

  it("gives handlers the door's access to the repository the delivery names, asked of the forge; one it does not serve is refused", async () => {
    const router = new DeliveryRouter();
    const answers: unknown[] = [];
    router.on('pull_request.closed', async (event) => {
      answers.push(
        await event.access(AbortSignal.timeout(10_000)).then(
          (access) => access.repo,
          (err: Error) => err,
        ),
      );
    });
    await router.receive(delivery('gitea', 'pull_request', giteaClosed()));
    const elsewhere = giteaClosed();
    elsewhere.repository = { ...elsewhere.repository, name: 'not-here', html_url: `${gitea.url}/gitea-org/not-here` };
    await router.receive(delivery('gitea', 'pull_request', elsewhere));
    const nameless = giteaClosed() as Json;
    delete nameless.repository;
    await router.receive(delivery('gitea', 'pull_request', nameless));

    expect(answers[0]).toMatchObject({ host: new URL(gitea.url).host, owner: 'gitea-org', repo: 'agents' });
    expect(answers[1]).toBeInstanceOf(DeliveryRefused);
    expect((answers[1] as Error).message).toMatch(/serves gitea-org\/not-here not at all/);
    expect(answers[2]).toBeInstanceOf(DeliveryRefused);
    expect(gitea.requests.filter((request) => request.path.startsWith('/api/v1/repos/gitea-org/')).map((request) => request.path)).toEqual([
      '/api/v1/repos/gitea-org/agents',
      '/api/v1/repos/gitea-org/not-here',
    ]);
  });

  it('names each event a door must subscribe to once: a whole event covers its actions', () => {
    const router = new DeliveryRouter();
    router.on('pull_request.closed', () => undefined);
    router.on('delete', () => undefined);
    router.on('issue_comment.created', () => undefined);
    expect(router.events).toEqual(['pull_request.closed', 'delete', 'issue_comment.created']);
    router.on('pull_request', () => undefined);
    expect(router.events).toEqual(['delete', 'issue_comment.created', 'pull_request']);
  });
});

describe("the repository a payload names, in GitHub's shape or Gitea's", () => {
  it('reads owner.login, or Gitea’s owner.username, with name and html_url; nothing when one is missing', () => {
    expect(repositoryOf({ repository: { owner: { login: 'octo' }, name: 'r', html_url: 'https://github.com/octo/r' } })).toEqual({
      owner: 'octo',
      name: 'r',
      htmlUrl: 'https://github.com/octo/r',
    });
    expect(repositoryOf({ repository: { owner: { username: 'gitea-org' }, name: 'agents', html_url: 'https://git.example/gitea-org/agents' } })).toEqual({
      owner: 'gitea-org',
      name: 'agents',
      htmlUrl: 'https://git.example/gitea-org/agents',
    });
    expect(repositoryOf({})).toBeUndefined();
    expect(repositoryOf({ repository: { owner: { login: 'octo' }, name: 'r', html_url: 'not a url' } })).toBeUndefined();
    expect(repositoryOf({ repository: { owner: { login: 'octo' }, html_url: 'https://github.com/octo/r' } })).toBeUndefined();
  });
});
