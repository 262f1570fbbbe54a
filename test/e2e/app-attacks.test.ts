/**
 * The attacks of issue 24, each through the committed app bundle (`dist/app/index.js`, run as its own
 * process and configured by its environment alone), on both doors where they apply: a GitHub App on a
 * GHES-shaped test forge, and a Gitea served under a sub-path. What a close deletes is decided by the
 * platform's records and the forge's answers, never by what the closing repository controls (its
 * label template, its name, its config) or by what a delivery claims.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createForge } from '../../src/forge/client.js';
import { UNSPACED_WRITES } from '../../src/forge/throttle.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { resolvePreviewLabel } from '../../src/pipeline/label.js';
import { parseSourceRepo } from '../../src/pipeline/source-repo.js';
import { githubExample, giteaPullRequestClosed, post, PreviewSeeder, stickyBody, type Json } from '../integration/app/fixtures.js';
import { HELLO_AGENT } from '../support/agents.js';
import { useAppWorld, type Door } from '../support/app-world.js';
import { repositoryAs } from '../support/payload-repository.js';
import { until } from '../support/wait.js';

const SHA = 'c'.repeat(40);

/** What `platform: local` in a repository's config would reach: the app must never call it. */
let trap: LocalPlatform;
let seeder: PreviewSeeder;

const world = useAppWorld({
  name: 'attacks',
  before: async () => {
    trap = await startLocalPlatform({ buildStepMs: 10, deployStepMs: 10 });
    seeder = new PreviewSeeder(world.local, world.keys.apiKey);
  },
  // The app runs on Agentex (here the local platform's Agentex API); `local` is another platform to it.
  env: () => ({ AGENT_PREVIEW_LOCAL_URL: trap.url }),
});
const { forgeOf, sourceRepo: sourceRepoOn } = world;

afterAll(() => trap.close());

const seeded = new Set<string>();

/** A repository (seeded once) with a pull request on it, and the sticky comment the action left there. */
async function seedPull(door: Door, owner: string, repo: string, pull: { number: number; headRef: string; state?: 'open' | 'closed'; headSha?: string }): Promise<void> {
  const forge = forgeOf(door);
  if (!seeded.has(`${door}:${owner}/${repo}`)) forge.seedRepo(owner, repo);
  seeded.add(`${door}:${owner}/${repo}`);
  forge.seedPullRequest(owner, repo, { number: pull.number, headSha: pull.headSha ?? SHA, headRef: pull.headRef, state: pull.state ?? 'open' });
  const writer =
    door === 'github'
      ? createForge({ kind: 'github', apiUrl: world.github.apiUrl, token: world.keys.installationToken, writeSpacing: UNSPACED_WRITES })
      : createForge({ kind: 'gitea', apiUrl: world.gitea.apiUrl, token: world.keys.giteaToken });
  await writer.createComment({ owner, repo, number: pull.number }, stickyBody(`pr-${pull.number}`));
}

/** A signed `pull_request` `closed` delivery of the door's own shape; `change` edits the payload first. */
async function deliverClose(door: Door, owner: string, repo: string, number: number, head: { ref: string; sha?: string }, change: (payload: Json) => void = () => {}) {
  const payload =
    door === 'github' ? await githubClosed(owner, repo, number, head) : giteaPullRequestClosed(world.gitea.url, owner, repo, number, { ref: head.ref, sha: head.sha ?? SHA });
  change(payload);
  const body = JSON.stringify(payload);
  const { status, headers } = await world.deliver(door, 'pull_request', body);
  return { status, deliveryId: headers['x-github-delivery'], body, headers };
}

async function githubClosed(owner: string, repo: string, number: number, head: { ref: string; sha?: string }): Promise<Json> {
  const payload = await githubExample('pull_request', 'closed');
  const repository = repositoryAs(payload.repository, owner, repo, `${world.github.url}/${owner}/${repo}`);
  payload.number = number;
  payload.repository = repository;
  payload.installation = { id: world.keys.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzM3Mw==' };
  Object.assign(payload.pull_request, {
    number,
    head: { ...payload.pull_request.head, ref: head.ref, sha: head.sha ?? SHA, repo: repository },
    base: { ...payload.pull_request.base, repo: repository },
  });
  return payload;
}

/** The app's log lines about one delivery. */
const linesOf = (deliveryId: string) => world.app.logs.messages().filter((line) => line.id === deliveryId);

/**
 * Resolves once the delivery's teardown has deleted what it deletes, or has ended without deleting:
 * nothing to do, refused, failed for good. The forge may still be being told (wait on the comment for that).
 */
function settled(deliveryId: string): Promise<Json[]> {
  const final = /: done \(|nothing to do|nothing is deleted|is kept|closed moments ago|failed: |failed after \d+ attempts|was already received/;
  // What a close deleted, unless a delete failed and the attempt is retried.
  const outcome = (msg: string) => /previews of "[^"]*": \d+ deleted/.test(msg) && !msg.includes('could not be deleted');
  return until(
    async () => linesOf(deliveryId),
    (lines) => lines.some((line) => final.test(String(line.msg)) || outcome(String(line.msg))),
    30_000,
  );
}

const commentOn = (door: Door, owner: string, repo: string, number: number) => forgeOf(door).comments(owner, repo, number)[0]?.body ?? '';

/** The label the previous version gave a PR under a template: 6 hex digits over the repository and the raw template filled in. */
function sixHexLabel(sourceRepo: string, sanitized: string, rawFilled: string): string {
  return `${sanitized}-${createHash('sha256').update(`${sourceRepo}\n${rawFilled}`).digest('hex').slice(0, 6)}`;
}

/** Characters the platform's label rule drops after `pr-5`, spelling a number. */
const DROPPED = '!#$%&()*+,.:;<=>?@^_~';
function droppedSuffix(n: number): string {
  let text = '';
  for (let rest = n + 1; rest > 0; rest = Math.floor(rest / DROPPED.length)) text += DROPPED[rest % DROPPED.length];
  return text;
}

/**
 * A 24-bit collision found the way the issue's attacker found one, by birthday search: a victim
 * repository `acme/agents-v<i>` whose PR 5 label (as the previous version made it) equals the label
 * the attacker's template `pr-{number}<dropped>` makes for its own PR 5.
 */
function collidingTemplate(door: Door, attacker: string): { victim: string; template: string; label: string } {
  const victims = new Map<string, number>();
  for (let i = 0; i < 8192; i++) victims.set(sixHexLabel(sourceRepoOn(door, 'acme', `agents-v${i}`), 'pr-5', 'pr-5'), i);
  for (let j = 0; ; j++) {
    const junk = droppedSuffix(j);
    const label = sixHexLabel(sourceRepoOn(door, 'mallory', attacker), 'pr-5', `pr-5${junk}`);
    const victim = victims.get(label);
    if (victim !== undefined) return { victim: `agents-v${victim}`, template: `pr-{number}${junk}`, label };
  }
}

describe.each(['github', 'gitea'] as const)('whose preview a close deletes is read from records (%s door)', (door) => {
  it("a repository whose label template collides with another repository's label closes its own PR, and the other's open PR keeps its preview", async () => {
    const attacker = `tools-${door}`;
    const { victim, template, label } = collidingTemplate(door, attacker);
    await seedPull(door, 'acme', victim, { number: 5, headRef: 'feature' });
    await seedPull(door, 'mallory', attacker, { number: 5, headRef: 'mine', state: 'closed' });
    forgeOf(door).seedFile('mallory', attacker, '.github/agent-preview.yml', `preview-label: ${JSON.stringify(template)}\n`);
    // The victim's preview, labelled as the previous version labelled it; its build records the victim.
    const theirs = await seeder.preview(sourceRepoOn(door, 'acme', victim), label);
    const mallory = parseSourceRepo(sourceRepoOn(door, 'mallory', attacker))!;
    const mine = await seeder.preview(sourceRepoOn(door, 'mallory', attacker), resolvePreviewLabel(template, { number: 5 }, 'preview-label', undefined, mallory).label);

    const delivery = await deliverClose(door, 'mallory', attacker, 5, { ref: 'mine' });
    expect(delivery.status).toBe(door === 'github' ? 200 : 202);
    await settled(delivery.deliveryId);

    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
    expect(await seeder.status(mine.id)).toBe('DELETED');
    expect(commentOn(door, 'acme', victim, 5)).toContain('Ready');
    expect(linesOf(delivery.deliveryId).find((line) => line.otherRepos)?.otherRepos).toEqual([theirs.id]);
  });

  it("a preview under the closing repository's own label whose build records another repository is that repository's: left alone", async () => {
    // What a 48-bit collision by repository name would give: the closing repository's label exactly, on another repository's preview.
    const closing = `agents-${door}-named`;
    await seedPull(door, 'mallory', closing, { number: 5, headRef: 'mine', state: 'closed' });
    const ownLabel = resolvePreviewLabel(undefined, { number: 5 }, 'preview-label', undefined, parseSourceRepo(sourceRepoOn(door, 'mallory', closing))).label;
    const theirs = await seeder.preview(sourceRepoOn(door, 'acme', `victim-${door}`), ownLabel);

    const delivery = await deliverClose(door, 'mallory', closing, 5, { ref: 'mine' });
    await settled(delivery.deliveryId);

    expect(await seeder.status(theirs.id)).toBe('HEALTHY');
    await until(
      async () => commentOn(door, 'mallory', closing, 5),
      (comment) => comment.includes('Preview removed'),
    );
  });

  it("a config naming another repository's agent with a literal label is refused, and a preview recording no repository is kept and named", async () => {
    const manifest = await readFile(path.join(HELLO_AGENT, 'manifest.yaml'), 'utf8');
    // The victim's preview from before repositories were recorded: label `pr-<n>`, a build with no source_repo.
    const literalVictim = await seeder.preview(undefined, `pr-3${door === 'github' ? 1 : 2}`);
    const legacyVictim = await seeder.preview(undefined, `pr-4${door === 'github' ? 1 : 2}`);
    const number = door === 'github' ? 31 : 32;
    const repo = `adopter-${door}`;
    await seedPull(door, 'mallory', repo, { number, headRef: 'mine', state: 'closed' });
    forgeOf(door).seedFile('mallory', repo, 'agents/hello/manifest.yaml', manifest);
    forgeOf(door).seedFile('mallory', repo, '.github/agent-preview.yml', `preview-label: "pr-${number}"\nmanifest: agents/hello/manifest.yaml\n`);

    const literal = await deliverClose(door, 'mallory', repo, number, { ref: 'mine' });
    const literalLines = await settled(literal.deliveryId);
    expect(await seeder.status(literalVictim.id)).toBe('HEALTHY');
    expect(literalLines.map((line) => line.msg).join('\n')).toMatch(/\.github\/agent-preview\.yml, field "preview-label": "pr-3\d" names no \{number\}, \{branch\} or \{sha\}/);

    // The same repository with a template: its own PR's legacy label finds the preview, which records nothing.
    const templated = `adopter-${door}-2`;
    const next = number + 10;
    await seedPull(door, 'mallory', templated, { number: next, headRef: 'mine', state: 'closed' });
    forgeOf(door).seedFile('mallory', templated, 'agents/hello/manifest.yaml', manifest);
    forgeOf(door).seedFile('mallory', templated, '.github/agent-preview.yml', 'manifest: agents/hello/manifest.yaml\n');
    const close = await deliverClose(door, 'mallory', templated, next, { ref: 'mine' });
    const lines = await settled(close.deliveryId);

    expect(await seeder.status(legacyVictim.id)).toBe('HEALTHY');
    const comment = await until(
      async () => commentOn(door, 'mallory', templated, next),
      (body) => body.includes('still running'),
    );
    expect(comment).not.toContain('Preview removed');
    expect(comment).toContain(legacyVictim.id);
    expect(comment).toMatch(/records no repository for it, so nothing proves it is this repository's/);
    expect(lines.find((line) => line.stillRunning)?.stillRunning).toEqual([legacyVictim.id]);
  });

  it('a close during the retry of a failed delete, after the PR was reopened, deletes nothing: every attempt asks the forge again', async () => {
    const repo = `reopened-${door}`;
    await seedPull(door, 'acme', repo, { number: 7, headRef: 'seven', state: 'closed' });
    const label = resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, parseSourceRepo(sourceRepoOn(door, 'acme', repo))).label;
    const preview = await seeder.preview(sourceRepoOn(door, 'acme', repo), label);
    // Every delete of the first attempt answers 503 (the client's own retries included); the PR is
    // reopened just before the app's next look at it.
    world.local.faults.add({ route: 'deployments.delete', status: 503, times: 6 });
    const pullRead = new RegExp(`^GET .*/repos/acme/${repo}/pulls/7$`);
    forgeOf(door).beforeNext(pullRead, () => {});
    forgeOf(door).beforeNext(pullRead, () => forgeOf(door).seedPullRequest('acme', repo, { number: 7, headSha: SHA, headRef: 'seven', state: 'open' }));

    const delivery = await deliverClose(door, 'acme', repo, 7, { ref: 'seven' });
    const lines = await settled(delivery.deliveryId);

    world.local.faults.clear();
    expect(lines.map((line) => line.msg).join('\n')).toMatch(/pull request #7 is open; nothing is deleted/);
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(commentOn(door, 'acme', repo, 7)).not.toContain('Preview removed');
  });

  it("the same PR's repeated closes are answered without asking the forge again, and the first removed the preview", async () => {
    const repo = `repeated-${door}`;
    await seedPull(door, 'acme', repo, { number: 8, headRef: 'eight', state: 'closed' });
    const label = resolvePreviewLabel(undefined, { number: 8 }, 'preview-label', undefined, parseSourceRepo(sourceRepoOn(door, 'acme', repo))).label;
    const preview = await seeder.preview(sourceRepoOn(door, 'acme', repo), label);
    const forge = forgeOf(door);
    // The last thing a close tells the forge: GitHub, the agent's deployment inactive; Gitea, the commit status.
    const environment = door === 'github' ? `preview/${label}/hello-agent` : `preview/${label}`;
    if (door === 'github') {
      const writer = createForge({ kind: 'github', apiUrl: world.github.apiUrl, token: world.keys.installationToken, writeSpacing: UNSPACED_WRITES });
      await writer.setPreviewStatus({ owner: 'acme', repo }, { state: 'success', environment, sha: SHA, description: 'preview ready' });
    }
    const lastWord = () =>
      door === 'github'
        ? world.github.deployments('acme', repo).some((deployment) => deployment.environment === environment && deployment.statuses.at(-1)?.state === 'inactive')
        : world.gitea.commitStatuses('acme', repo, SHA).some((status) => status.context === environment && status.description === 'preview removed');
    await deliverClose(door, 'acme', repo, 8, { ref: 'eight' });
    await until(async () => lastWord(), Boolean);
    expect(await seeder.status(preview.id)).toBe('DELETED');

    // Five more closes of the same PR, each a body the forge signed (another sender), none a replay.
    const before = forge.requests.length;
    for (let n = 0; n < 5; n++) {
      const again = await deliverClose(door, 'acme', repo, 8, { ref: 'eight' }, (payload) => (payload.sender = { ...payload.sender, login: `someone-${n}` }));
      await settled(again.deliveryId);
    }
    const calls = forge.requests.slice(before).map((request) => `${request.method} ${request.path}`);
    expect(calls).toEqual([]);
  });

  it("a repository's config may not point the app at a platform it holds no credentials for", async () => {
    const repo = `platform-${door}`;
    await seedPull(door, 'acme', repo, { number: 9, headRef: 'nine', state: 'closed' });
    forgeOf(door).seedFile('acme', repo, '.github/agent-preview.yml', 'platform: local\n');

    const delivery = await deliverClose(door, 'acme', repo, 9, { ref: 'nine' });
    const lines = await settled(delivery.deliveryId);

    expect(trap.requests).toEqual([]);
    const refusal = lines.find((line) => line.level === 50);
    expect(refusal?.msg).toMatch(/\.github\/agent-preview\.yml, field "platform": .* asks for platform "local", but the local platform is for development/);
    expect(refusal).toMatchObject({ leftForSweep: false });
  });
});

describe('{branch} labels take the branch from the forge, and stay while the branch is still used', () => {
  it('GitHub: a captured close replayed under a fresh delivery id deletes nothing of the newer open PR on the same branch', async () => {
    const repo = 'branchy-github';
    await seedPull('github', 'acme', repo, { number: 3, headRef: 'feat', state: 'closed' });
    world.github.seedFile('acme', repo, '.github/agent-preview.yml', 'preview-label: "{branch}"\n');
    // PR 3 merged, its branch deleted: its close removes what it had.
    world.github.deleteBranch('acme', repo, 'feat');
    const captured = await deliverClose('github', 'acme', repo, 3, { ref: 'feat' });
    await settled(captured.deliveryId);

    // Later, the branch is pushed again and PR 8 opened on it, with its own preview.
    await seedPull('github', 'acme', repo, { number: 8, headRef: 'feat' });
    const source = parseSourceRepo(sourceRepoOn('github', 'acme', repo));
    const preview = await seeder.preview(sourceRepoOn('github', 'acme', repo), resolvePreviewLabel('{branch}', { branch: 'feat' }, 'preview-label', undefined, source).label);

    const headers = { ...captured.headers, 'x-github-delivery': randomUUID() };
    expect((await post(`${world.app.url}/api/github/webhooks`, captured.body, headers)).status).toBe(200);
    expect((await settled(headers['x-github-delivery'])).map((line) => line.msg)).toContain(`delivery ${headers['x-github-delivery']} was already received; ignored`);
    expect(await seeder.status(preview.id)).toBe('HEALTHY');

    // A close of PR 3 the app has not seen (another body, as after a restart) asks the forge, which
    // says PR 3 is closed but its branch is in use again.
    const unseen = await deliverClose('github', 'acme', repo, 3, { ref: 'feat' }, (payload) => (payload.sender = { ...payload.sender, login: 'someone-else' }));
    expect((await settled(unseen.deliveryId)).map((line) => line.msg).join('\n')).toMatch(/branch feat still exists; its branch preview is kept/);
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
  });

  it("Gitea: a signed close of a closed PR that names another open PR's branch deletes nothing of it", async () => {
    const repo = 'branchy-gitea';
    await seedPull('gitea', 'acme', repo, { number: 4, headRef: 'done-branch', state: 'closed' });
    world.gitea.deleteBranch('acme', repo, 'done-branch');
    await seedPull('gitea', 'acme', repo, { number: 9, headRef: 'victim-branch' });
    world.gitea.seedFile('acme', repo, '.github/agent-preview.yml', 'preview-label: "{branch}"\n');
    const source = parseSourceRepo(sourceRepoOn('gitea', 'acme', repo));
    const preview = await seeder.preview(
      sourceRepoOn('gitea', 'acme', repo),
      resolvePreviewLabel('{branch}', { branch: 'victim-branch' }, 'preview-label', undefined, source).label,
    );

    const delivery = await deliverClose('gitea', 'acme', repo, 4, { ref: 'victim-branch' });
    await settled(delivery.deliveryId);
    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(commentOn('gitea', 'acme', repo, 9)).toContain('Ready');
  });
});

describe('Gitea: the repository is the one GITEA_URL serves, not a host name', () => {
  it('a delivery signed with this Gitea’s secret naming a sibling Gitea’s path on the same host deletes nothing there', async () => {
    // This Gitea is http://host/gitea; another one lives at http://host/gitea-evil.
    await seedPull('gitea', 'acme', 'shared-name', { number: 5, headRef: 'five', state: 'closed' });
    const sibling = `${world.gitea.url}-evil`;
    const siblingRepo = `${sibling.replace(/^https?:\/\//, '')}/acme/shared-name`;
    const preview = await seeder.preview(siblingRepo, resolvePreviewLabel(undefined, { number: 5 }, 'preview-label', undefined, parseSourceRepo(siblingRepo)).label);

    const delivery = await deliverClose('gitea', 'acme', 'shared-name', 5, { ref: 'five' }, (payload) => {
      payload.repository.html_url = `${sibling}/acme/shared-name`;
    });
    const lines = await settled(delivery.deliveryId);

    expect(await seeder.status(preview.id)).toBe('HEALTHY');
    expect(lines.find((line) => line.level === 50)?.msg).toContain(`the delivery names ${sibling}/acme/shared-name, but ${world.gitea.url} serves acme/shared-name at`);
  });
});
