import { pino } from 'pino';
import type { Logger } from 'probot';
import { openDoors, type Doors } from '../../../src/app/doors.js';
import { startSweeper } from '../../../src/app/sweeper.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { appPlatformOn } from '../../integration/app/test-app.js';
import { LogCapture, PreviewSeeder, type Json } from '../../integration/app/fixtures.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';

const API_KEY = 'sk-sweeper-unit-Wq4v2Lm8';
const GITEA_TOKEN = 'gitea-token-sweeper-unit-3e7a';

let local: LocalPlatform;
let gitea: TestForge;
let doors: Doors;
let lifetime: AbortController;

beforeAll(async () => {
  [local, gitea] = await Promise.all([startLocalPlatform({ apiKey: API_KEY, buildStepMs: 10, deployStepMs: 10 }), startTestForge({ flavor: 'gitea', token: GITEA_TOKEN })]);
  gitea.seedRepo('gitea-org', 'agents');
  gitea.seedPullRequest('gitea-org', 'agents', { number: 2, headSha: 'c'.repeat(40), headRef: 'french', state: 'closed' });
  lifetime = new AbortController();
  doors = await openDoors(
    { gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: 'whsec-sweeper-unit-8d2f4b' } },
    pino({ level: 'silent' }) as unknown as Logger,
    lifetime.signal,
  );
});

afterAll(async () => {
  lifetime.abort();
  await Promise.all([local.close(), gitea.close()]);
  clearSecrets();
});

describe("the app's sweeper", () => {
  it('asks each recorded repository of the door that serves it: a closed Gitea pull request’s preview goes, a GitHub one stays without a GitHub door', async () => {
    const seeder = new PreviewSeeder(local, API_KEY);
    const closed = await seeder.preview(`${new URL(gitea.url).host}/gitea-org/agents`, 'pr-2');
    const elsewhere = await seeder.preview('github.com/Codertocat/Hello-World', 'pr-2');
    const logs = new LogCapture();
    const sweeper = startSweeper(undefined, {
      doors,
      platformFor: () => appPlatformOn(local, API_KEY),
      log: pino({ level: 'info' }, logs) as unknown as Logger,
      lifetime: lifetime.signal,
    });

    // Two sweeps asked for at once are one sweep.
    const [dryRun, same] = await Promise.all([sweeper.sweepOnce(true), sweeper.sweepOnce(true)]);
    expect(same).toBe(dryRun);
    expect(dryRun.wouldDelete.map((item) => [item.deploymentId, item.reason])).toEqual([[closed.id, 'pull request #2 is closed']]);
    expect(dryRun.kept.map((item) => [item.deploymentId, item.reason])).toEqual([[elsewhere.id, 'no forge is configured for github.com']]);
    expect(
      logs.messages().filter((line) => line.msg === `would delete preview ${closed.id} (pr-2, ${new URL(gitea.url).host}/gitea-org/agents): pull request #2 is closed`),
    ).toHaveLength(1);

    const deleting = await sweeper.sweepOnce(false);
    expect(deleting.deleted.map((item) => item.deploymentId)).toEqual([closed.id]);
    expect(await seeder.status(closed.id)).toBe('DELETED');
    expect(await seeder.status(elsewhere.id)).toBe('HEALTHY');
    sweeper.stop();
    await sweeper.settled();
  });

  it('sweeps on its interval until stopped', async () => {
    let swept!: () => void;
    const first = new Promise<void>((resolve) => (swept = resolve));
    const reports: Json[] = [];
    const write = (text: string) => {
      const line = JSON.parse(text);
      if (line.sweep && 'examined' in line) reports.push(line);
      swept();
    };
    const log = pino({ level: 'info' }, { write }) as unknown as Logger;
    const sweeper = startSweeper({ intervalMs: 5, dryRun: true }, { doors, platformFor: () => appPlatformOn(local, API_KEY), log, lifetime: lifetime.signal });
    await first;
    sweeper.stop();
    await sweeper.settled();
    const count = reports.length;
    expect(reports[0]).toMatchObject({ dryRun: true });
    // Stopped: a sweep scheduled since would have reported by the time another one has.
    await sweeper.sweepOnce(true);
    expect(reports.length).toBe(count + 1);
  });
});
