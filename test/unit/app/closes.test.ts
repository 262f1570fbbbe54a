import { pino } from 'pino';
import type { Logger } from 'probot';
import { handleCloses } from '../../../src/app/closes.js';
import { DeliveryRefused, type AccessFor, type DoorName, type TeardownJob } from '../../../src/app/deliveries.js';
import { BadDelivery, DeliveryRouter, type Delivery } from '../../../src/app/router.js';
import { MemoryTeardownQueue } from '../../../src/app/teardown-queue.js';
import { githubExample, giteaPullRequestClosed, type Json } from '../../integration/app/fixtures.js';

const GITEA = 'https://git.example';
/** The handlers only queue: no forge is asked while a delivery is answered. */
const noAccess: AccessFor = async () => {
  throw new DeliveryRefused('no forge here');
};

function setUp() {
  const lines: Json[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }) as unknown as Logger;
  const queued: TeardownJob[] = [];
  // The queue's work here is to record the job it was given.
  const queue = new MemoryTeardownQueue((job, taskLog) => ({ key: job.deliveryId, what: job.deliveryId, log: taskLog, run: async () => void queued.push(job) }));
  const router = new DeliveryRouter();
  handleCloses(router, queue);
  let serial = 0;
  const deliver = async (door: DoorName, name: string, payload: Json, id = `delivery-${++serial}`) => {
    // The GitHub door reads the installation off the payload (github.ts); Gitea's payloads name none.
    const installationId = door === 'github' ? payload.installation?.id : undefined;
    const delivery: Delivery = { door, id, name, payload, bodyDigest: `digest-${JSON.stringify(payload).length}-${id}`, installationId, log, accessFor: noAccess };
    const outcome = await router.receive(delivery);
    await queue.idle();
    return outcome;
  };
  return { lines, queued, deliver };
}

describe('the close handlers, one for both doors', () => {
  it('turn a GitHub close and a Gitea close into the same job, each with its door, delivery and installation', async () => {
    const { queued, deliver } = setUp();
    const github = await githubExample('pull_request', 'closed');
    expect(await deliver('github', 'pull_request', github, 'gh-1')).toBe('queued');
    expect(await deliver('gitea', 'pull_request', giteaPullRequestClosed(GITEA, 'gitea-org', 'agents', 7, { ref: 'french', sha: 'c'.repeat(40) }), 'gt-1')).toBe('queued');
    expect(queued).toEqual([
      {
        door: 'github',
        deliveryId: 'gh-1',
        bodyDigest: expect.stringMatching(/^digest-/),
        installationId: github.installation.id,
        repository: { owner: 'Codertocat', name: 'Hello-World', htmlUrl: github.repository.html_url },
        event: 'pull_request.closed',
        number: github.number,
      },
      {
        door: 'gitea',
        deliveryId: 'gt-1',
        bodyDigest: expect.stringMatching(/^digest-/),
        installationId: undefined,
        repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${GITEA}/gitea-org/agents` },
        event: 'pull_request.closed',
        number: 7,
      },
    ]);
  });

  it("queue a branch's teardown for a deleted branch, not for a tag or another pull request action", async () => {
    const { queued, deliver } = setUp();
    const deleted = { ...(await githubExample('delete')), ref_type: 'branch', ref: 'feature/x' };
    expect(await deliver('github', 'delete', deleted)).toBe('queued');
    expect(await deliver('github', 'delete', { ...deleted, ref_type: 'tag' })).toBe('ignored');
    expect(await deliver('gitea', 'pull_request', { ...giteaPullRequestClosed(GITEA, 'gitea-org', 'agents', 8, { ref: 'b', sha: 'c'.repeat(40) }), action: 'reopened' })).toBe(
      'ignored',
    );
    expect(queued.map((job) => [job.door, job.event, job.event === 'branch.deleted' ? job.branch : job.number])).toEqual([['github', 'branch.deleted', 'feature/x']]);
  });

  it('say a redelivery is a duplicate and log it once as such', async () => {
    const { queued, deliver, lines } = setUp();
    const payload = giteaPullRequestClosed(GITEA, 'gitea-org', 'agents', 9, { ref: 'b', sha: 'c'.repeat(40) });
    expect(await deliver('gitea', 'pull_request', payload, 'same-id')).toBe('queued');
    expect(await deliver('gitea', 'pull_request', payload, 'same-id')).toBe('duplicate');
    expect(queued).toHaveLength(1);
    expect(lines.filter((line) => line.msg === 'delivery same-id was already received; ignored')).toHaveLength(1);
    expect(lines.filter((line) => line.msg === 'pull request #9 closed; teardown queued')).toHaveLength(1);
  });

  it('refuse (400) a close that names no repository or no pull request number, queueing nothing', async () => {
    const { queued, deliver } = setUp();
    const payload = giteaPullRequestClosed(GITEA, 'gitea-org', 'agents', 10, { ref: 'b', sha: 'c'.repeat(40) }) as Json;
    await expect(deliver('gitea', 'pull_request', { ...payload, repository: { name: 'agents' } })).rejects.toThrow(
      new BadDelivery('the delivery names no repository (owner, name and html_url)'),
    );
    await expect(deliver('gitea', 'pull_request', { ...payload, number: 0, pull_request: { ...payload.pull_request, number: 'x' } })).rejects.toMatchObject({
      status: 400,
      message: 'the delivery names no pull request number',
    });
    expect(queued).toEqual([]);
  });
});
