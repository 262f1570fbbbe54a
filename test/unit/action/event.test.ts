import { readRunEvent } from '../../../src/action/event.js';

const base = { GITHUB_REPOSITORY: 'acme/agents', GITHUB_RUN_ID: '1399', GITHUB_RUN_NUMBER: '148' };

describe('the run link', () => {
  it('GitHub: the run id', async () => {
    expect((await readRunEvent({ ...base, GITHUB_SERVER_URL: 'https://github.com' })).runUrl).toBe('https://github.com/acme/agents/actions/runs/1399');
  });

  it('Gitea and Forgejo: the per-repository run index, marked as one; the server URL may end in a slash', async () => {
    const event = await readRunEvent({ ...base, GITEA_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://code.example/git/' });
    expect(event.runUrl).toBe('https://code.example/git/acme/agents/actions/runs/148?by_index=1');
    expect(event.apiUrl).toBe('https://code.example/git/api/v1');
  });

  it('Gitea without a run number: no link rather than a wrong one', async () => {
    expect(
      (await readRunEvent({ GITHUB_REPOSITORY: 'acme/agents', GITHUB_RUN_ID: '1399', GITEA_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://code.example' })).runUrl,
    ).toBeUndefined();
  });
});
