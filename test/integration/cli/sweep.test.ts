import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { startTestForge, type TestForge } from '../../support/forge/server.js';
import { runCli } from '../../support/io.js';
import { PreviewSeeder, stickyBody } from '../app/fixtures.js';

const API_KEY = 'sk-sweep-Vb27Qx9LmT0r';
const TOKEN = 'ghp_sweepToken0123456789abcdefXYZ';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';

let local: LocalPlatform;
let forge: TestForge;
let seeder: PreviewSeeder;
let env: NodeJS.ProcessEnv;
let repo: string;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 10, deployStepMs: 10 });
  forge = await startTestForge({ flavor: 'github', token: TOKEN });
  forge.seedRepo(OWNER, REPO);
  repo = `${new URL(forge.url).host}/${OWNER}/${REPO}`;
  seeder = new PreviewSeeder(local, API_KEY);
  env = {
    AGENT_PREVIEW_PLATFORM: 'local',
    AGENT_PREVIEW_LOCAL_URL: local.url,
    AGENT_PREVIEW_LOCAL_KEY: API_KEY,
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: forge.apiUrl,
    GITHUB_SERVER_URL: forge.url,
  };
});

afterEach(async () => {
  await local.close();
  await forge.close();
});

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(API_KEY);
  expect(text).not.toContain(TOKEN);
}

describe('agent-preview sweep', () => {
  it("reports by default, deletes with --delete: only closed PRs' previews of repositories it can ask, marking their comments", async () => {
    forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: 'a'.repeat(40), headRef: 'two', state: 'closed' });
    forge.seedPullRequest(OWNER, REPO, { number: 3, headSha: 'b'.repeat(40), headRef: 'three' });
    const closed = await seeder.preview(repo, 'pr-2');
    const open = await seeder.preview(repo, 'pr-3');
    const unattributed = await seeder.preview(undefined, 'pr-2');
    const elsewhere = await seeder.preview('git.example.org/acme/agents', 'pr-2');
    const comment = await fetch(`${forge.apiUrl}/repos/${OWNER}/${REPO}/issues/2/comments`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body: stickyBody('pr-2') }),
    });
    expect(comment.status).toBe(201);

    const dry = await runCli(['sweep'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would delete ${closed.id} pr-2 (hello-agent) ${repo.toLowerCase()}`);
    expect(dry.stdout).toMatch(new RegExp(`kept ${open.id} pr-3 .*pull request #3 is open`));
    expect(dry.stdout).toContain(`kept ${unattributed.id} pr-2 (hello-agent): nothing records which repository deployed it`);
    expect(dry.stdout).toMatch(new RegExp(`kept ${elsewhere.id} pr-2 .*git.example.org/acme/agents`));
    expect(dry.stdout).toMatch(/dry run: 4 previews examined, 1 would be deleted, 3 kept, 0 failed/);
    for (const preview of [closed, open, unattributed, elsewhere]) expect(await seeder.status(preview.id)).toBe('HEALTHY');

    const swept = await runCli(['--json', 'sweep', '--delete'], { env });
    expect(swept.code).toBe(0);
    const report = JSON.parse(swept.stdout);
    expect(report).toMatchObject({ dryRun: false, examined: 4, wouldDelete: [], failed: [] });
    expect(report.deleted.map((item: { deploymentId: string }) => item.deploymentId)).toEqual([closed.id]);
    expect(await seeder.status(closed.id)).toBe('DELETED');
    for (const preview of [open, unattributed, elsewhere]) expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(forge.comments(OWNER, REPO, 2)[0].body).toContain('Preview removed');
    expectNoSecrets(dry.stdout + dry.stderr + swept.stdout + swept.stderr);
  });

  it("reads a repository's label template from .github/agent-preview.yml", async () => {
    forge.seedFile(OWNER, REPO, '.github/agent-preview.yml', 'preview-label: review-{number}\n');
    forge.seedPullRequest(OWNER, REPO, { number: 7, headSha: 'c'.repeat(40), headRef: 'seven', state: 'closed' });
    const preview = await seeder.preview(repo, 'review-7');
    const swept = await runCli(['sweep', '--delete'], { env });
    expect(swept.code).toBe(0);
    expect(swept.stdout).toContain(`deleted ${preview.id} review-7`);
    expect(await seeder.status(preview.id)).toBe('DELETED');
  });

  it('refuses to run without a forge to ask, and names what to set, before any request', async () => {
    const { GITHUB_TOKEN: _token, ...withoutToken } = env;
    const run = await runCli(['sweep'], { env: withoutToken });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/set GITHUB_TOKEN \(or --github-token\), or GITEA_URL and GITEA_TOKEN/);
    const both = await runCli(['sweep', '--delete', '--dry-run'], { env });
    expect(both.code).toBe(2);
    expect(local.requests).toHaveLength(0);
  });
});

describe('agent-preview teardown --repo', () => {
  it("deletes only that repository's previews of the label; --agent adopts previews that record no repository", async () => {
    const ours = await seeder.preview(repo, 'pr-4');
    const theirs = await seeder.preview('github.com/someone/else', 'pr-4');
    const unattributed = await seeder.preview(undefined, 'pr-4');

    const first = await runCli(['teardown', '--pr', '4', '--repo', repo], { env });
    expect(first.code).toBe(0);
    // pr-4 is the label an earlier version gave; this version's own is hashed (pr-4-<hash>).
    expect(first.stdout).toMatch(
      /^previews of "pr-4-[0-9a-f]{12}": 1 deleted, 0 already gone, 1 of other repositories left alone \(\S+\), 1 recording no repository left alone\n$/,
    );
    expect(first.stderr).toContain(unattributed.id);
    expect(await seeder.status(ours.id)).toBe('DELETED');
    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
    expect(await seeder.status(unattributed.id)).toBe('HEALTHY');

    const adopted = await runCli(['teardown', '--pr', '4', '--repo', repo, '--agent', 'hello-agent'], { env });
    expect(adopted.code).toBe(0);
    expect(await seeder.status(unattributed.id)).toBe('DELETED');
    expect(await seeder.status(theirs.id)).toBe('HEALTHY');

    const bad = await runCli(['teardown', '--pr', '4', '--repo', 'acme'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--repo.*"acme" is not host\/owner\/repo/);
  });
});

describe('agent-preview sweep with branch previews', () => {
  it('deletes the previews of branches that are gone and keeps those of branches that remain', async () => {
    forge.seedRepo(OWNER, REPO, { branches: ['feature/Login', 'keep-me'] });
    forge.seedFile(OWNER, REPO, '.github/agent-preview.yml', 'preview-label: br-{branch}\n');
    const gone = await seeder.preview(repo, 'br-old-work');
    const kept = await seeder.preview(repo, 'br-feature-login');

    const dry = await runCli(['sweep'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      `would delete ${gone.id} br-old-work (hello-agent) ${repo.toLowerCase()}: no branch of the repository gives this label any more (the branch is gone)`,
    );
    expect(dry.stdout).toContain(`kept ${kept.id} br-feature-login (hello-agent) ${repo.toLowerCase()}: its branch still exists`);

    const swept = await runCli(['sweep', '--delete'], { env });
    expect(swept.code).toBe(0);
    expect(await seeder.status(gone.id)).toBe('DELETED');
    expect(await seeder.status(kept.id)).toBe('HEALTHY');
  });
});
