import { pino } from 'pino';
import type { Logger } from 'probot';
import { DeliveryRefused } from '../../../src/app/deliveries.js';
import { openDoors } from '../../../src/app/doors.js';
import { InputError } from '../../../src/errors.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';

const TOKEN = 'ghs_doorsUnitToken0123456789ab';
const GITEA_TOKEN = 'gitea-token-doors-unit-2e8f';
const SECRET = 'whsec-doors-unit-5a1c9e3b7d';
const log = pino({ level: 'silent' }) as unknown as Logger;

let github: TestForge;
let gitea: TestForge;

beforeAll(async () => {
  [github, gitea] = await Promise.all([startTestForge({ flavor: 'github', token: TOKEN }), startTestForge({ flavor: 'gitea', token: GITEA_TOKEN })]);
  github.seedRepo('Codertocat', 'Hello-World');
  github.seedPullRequest('Codertocat', 'Hello-World', { number: 2, headSha: 'a'.repeat(40), headRef: 'changes', state: 'closed' });
  gitea.seedRepo('gitea-org', 'agents');
  gitea.seedPullRequest('gitea-org', 'agents', { number: 4, headSha: 'c'.repeat(40), headRef: 'french' });
});

afterAll(async () => {
  await Promise.all([github.close(), gitea.close()]);
  clearSecrets();
});

const signal = () => AbortSignal.timeout(10_000);

describe("the app's forge doors", () => {
  it('opens the GitHub door and the Gitea door from their settings; a job reaches the repository through its own door, over that forge’s API', async () => {
    const doors = await openDoors(
      {
        githubToken: TOKEN,
        webhookSecret: SECRET,
        githubBaseUrl: github.apiUrl,
        gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: SECRET },
        defaultLabelTemplate: ' {branch} ',
        writeSpacing: UNSPACED_WRITES,
      },
      log,
      new AbortController().signal,
    );
    try {
      expect(doors.open).toEqual(['github', 'gitea']);
      expect(doors.github).toMatchObject({ host: 'github.com', tokenRun: true });
      expect(doors.defaultConfig.labelTemplate).toBe('{branch}');

      const onGithub = await doors.accessFor(
        { door: 'github', repository: { owner: 'Codertocat', name: 'Hello-World', htmlUrl: 'https://github.com/Codertocat/Hello-World' } },
        signal(),
      );
      expect(await onGithub.pullRequest(2, signal())).toEqual({ state: 'closed', headRef: 'changes', headSha: 'a'.repeat(40) });
      const onGitea = await doors.accessFor({ door: 'gitea', repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${gitea.url}/gitea-org/agents` } }, signal());
      expect(await onGitea.pullRequest(4, signal())).toEqual({ state: 'open', headRef: 'french', headSha: 'c'.repeat(40) });
      // Each door serves its own forge: a GitHub job naming the Gitea's address is refused.
      await expect(doors.accessFor({ door: 'github', repository: { owner: 'gitea-org', name: 'agents', htmlUrl: `${gitea.url}/gitea-org/agents` } }, signal())).rejects.toThrow(
        DeliveryRefused,
      );
      expect(github.requests.map((request) => `${request.method} ${request.path}`)).toContain('GET /repos/Codertocat/Hello-World/pulls/2');
      expect(gitea.requests.map((request) => `${request.method} ${request.path}`)).toContain('GET /api/v1/repos/gitea-org/agents/pulls/4');
    } finally {
      await doors.close();
    }
  });

  it('opens no door without credentials, and refuses a job of a door it does not serve', async () => {
    const doors = await openDoors({ gitea: { url: gitea.url, token: GITEA_TOKEN, webhookSecret: SECRET } }, log, new AbortController().signal);
    expect(doors.open).toEqual(['gitea']);
    expect(doors.github).toBeUndefined();
    await expect(doors.accessFor({ door: 'github', repository: { owner: 'o', name: 'r', htmlUrl: 'https://github.com/o/r' } }, signal())).rejects.toThrow(
      new DeliveryRefused('this app does not serve github'),
    );
    expect((await openDoors({}, log, new AbortController().signal)).open).toEqual([]);
  });

  it('refuses a GitHub door without a webhook secret, naming WEBHOOK_SECRET', async () => {
    const opening = openDoors({ githubToken: TOKEN, githubBaseUrl: github.apiUrl }, log, new AbortController().signal);
    await expect(opening).rejects.toThrow(InputError);
    await expect(opening).rejects.toThrow(/set WEBHOOK_SECRET/);
  });
});
