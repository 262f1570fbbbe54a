import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { context } from '@actions/github';
import { readRunEvent, type RunEvent } from '../../../src/action/event.js';
import { giteaPullRequestClosed } from '../../integration/app/fixtures.js';

const base = { GITHUB_REPOSITORY: 'acme/agents', GITHUB_RUN_ID: '1399', GITHUB_RUN_NUMBER: '148' };

/** @actions/github's own Context class: the one its `context` is made with, from `process.env`. */
const ActionsContext = context.constructor as new () => typeof context;

/**
 * The event as the action reads it in a runner with this environment: a Context hydrated from it,
 * read while it is `process.env` (the Context reads GITHUB_REPOSITORY when `repo` is asked for).
 */
function runEventIn(env: NodeJS.ProcessEnv): RunEvent {
  const saved = process.env;
  process.env = env;
  try {
    return readRunEvent(env, new ActionsContext());
  } finally {
    process.env = saved;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ap-event-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function eventFile(payload: unknown): Promise<string> {
  const file = path.join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(payload));
  return file;
}

describe('the run link', () => {
  it('GitHub: the run id', () => {
    expect(runEventIn({ ...base, GITHUB_SERVER_URL: 'https://github.com' }).runUrl).toBe('https://github.com/acme/agents/actions/runs/1399');
  });

  it('Gitea and Forgejo: the per-repository run index, marked as one; the server URL may end in a slash', () => {
    const event = runEventIn({ ...base, GITEA_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://code.example/git/' });
    expect(event.runUrl).toBe('https://code.example/git/acme/agents/actions/runs/148?by_index=1');
    expect(event.apiUrl).toBe('https://code.example/git/api/v1');
  });

  it('Gitea without a run number: no link rather than a wrong one', () => {
    expect(runEventIn({ GITHUB_REPOSITORY: 'acme/agents', GITHUB_RUN_ID: '1399', GITEA_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://code.example' }).runUrl).toBeUndefined();
  });
});

describe("the forge's addresses", () => {
  it("GitHub without the variables: github.com's, the Context's defaults", () => {
    const event = runEventIn(base);
    expect(event).toMatchObject({ forge: 'github', serverUrl: 'https://github.com', apiUrl: 'https://api.github.com' });
    expect(event.runUrl).toBe('https://github.com/acme/agents/actions/runs/1399');
  });

  it('Gitea as its runner sets them: the server URL with a slash, the API under it, no GraphQL URL', () => {
    const event = runEventIn({
      ...base,
      GITEA_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://code.example/',
      GITHUB_API_URL: 'https://code.example/api/v1',
      GITHUB_GRAPHQL_URL: '',
    });
    expect(event).toMatchObject({ forge: 'gitea', serverUrl: 'https://code.example', apiUrl: 'https://code.example/api/v1' });
  });

  it("Gitea without the variables: never github.com's addresses", () => {
    const event = runEventIn({ ...base, GITEA_ACTIONS: 'true' });
    expect(event.serverUrl).toBe('');
    expect(event.apiUrl).not.toContain('github.com');
    expect(event.runUrl).toBeUndefined();
  });
});

describe('the event payload', () => {
  it("Gitea's pull_request `synchronized`: the PR, its head and the action as Gitea names it", async () => {
    const payload = giteaPullRequestClosed('https://code.example', 'acme', 'agents', 7, { ref: 'french', sha: 'b'.repeat(40) });
    Object.assign(payload, { action: 'synchronized' });
    Object.assign(payload.pull_request, { state: 'open', merged: false, merged_at: null, closed_at: null });
    const event = runEventIn({ ...base, GITEA_ACTIONS: 'true', GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: await eventFile(payload), GITHUB_SHA: 'c'.repeat(40) });
    expect(event).toMatchObject({ name: 'pull_request', action: 'synchronized', sha: 'b'.repeat(40) });
    expect(event.pull).toMatchObject({ number: 7, headSha: 'b'.repeat(40), headRef: 'french', fork: false, merged: false });
    expect(event.sourceRepo).toEqual({ host: 'code.example', owner: 'acme', repo: 'agents' });
  });

  it('a push: the branch from GITHUB_REF, the sha from GITHUB_SHA', async () => {
    const event = runEventIn({
      ...base,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: await eventFile({ ref: 'refs/heads/main', after: 'd'.repeat(40), repository: { full_name: 'acme/agents', default_branch: 'main' } }),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_SHA: 'e'.repeat(40),
    });
    expect(event).toMatchObject({ name: 'push', branch: 'main', defaultBranch: 'main', sha: 'e'.repeat(40) });
    expect(event.pull).toBeUndefined();
  });

  it('without GITHUB_REPOSITORY, the repository the payload names', async () => {
    const payload = giteaPullRequestClosed('https://code.example', 'gitea-org', 'agents', 2, { ref: 'french', sha: 'c'.repeat(40) });
    expect(runEventIn({ GITHUB_EVENT_PATH: await eventFile(payload) }).repo).toEqual({ owner: 'gitea-org', repo: 'agents' });
  });

  it('names a GITHUB_EVENT_PATH that does not exist', () => {
    const missing = path.join(dir, 'no-such-event.json');
    expect(() => runEventIn({ ...base, GITHUB_EVENT_PATH: missing })).toThrow(`${missing}: the event payload file does not exist`);
  });

  it('names GITHUB_REPOSITORY when neither it nor the payload says which repository', () => {
    expect(() => runEventIn({ GITHUB_RUN_ID: '1' })).toThrow('field "GITHUB_REPOSITORY": GITHUB_REPOSITORY is not set');
  });
});
