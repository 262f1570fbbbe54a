import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAgents } from '../../../src/pipeline/agent.js';
import { silentReporter } from '../../../src/pipeline/reporter.js';
import { runAgents, type AgentResult, type RunOptions } from '../../../src/pipeline/run.js';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import { HELLO_AGENT } from '../../support/agents.js';

const KEY = 'sk-unchanged-test-key';
const REPO = 'github.com/acme/mono';
const NAMES = ['alpha', 'bravo', 'charlie', 'delta'];
let local: LocalPlatform;
let root: string;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 10, deployStepMs: 10 });
  root = await mkdtemp(path.join(tmpdir(), 'ap-unchanged-'));
  for (const name of NAMES) {
    const dir = path.join(root, name);
    await cp(HELLO_AGENT, dir, { recursive: true });
    await edit(name, 'manifest.yaml', (text) => text.replace('name: hello-agent', `name: ${name}`));
    await edit(name, 'Dockerfile', (text) => `${text}\nLABEL agent=${name}\n`);
  }
});
afterEach(async () => {
  await local.close();
  await rm(root, { recursive: true, force: true });
});

async function edit(agent: string, file: string, change: (text: string) => string): Promise<void> {
  const at = path.join(root, agent, file);
  await writeFile(at, change(await readFile(at, 'utf8')));
}

function platform(): AgentexPlatform {
  return new AgentexPlatform({ baseUrl: local.url, apiKey: KEY, name: 'local', deploymentsCarryUrl: true, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

async function push(extra: Partial<RunOptions> = {}, repo = REPO): Promise<AgentResult[]> {
  const agents = await loadAgents(
    NAMES.map((name) => path.join(root, name)),
    { requireEnvironment: true },
  );
  return runAgents(platform(), agents, {
    mode: 'preview',
    preview: { label: 'pr-4', ttlMs: 8 * 3_600_000 },
    reporter: silentReporter,
    pollIntervalMs: 20,
    timeoutMs: 30_000,
    provenance: { repo, commit: 'c0ffee' },
    ...extra,
  });
}

const statuses = (results: AgentResult[]) => results.map((result) => [result.agent, result.status]);
const live = () => local.deployments().filter((deployment) => deployment.status === 'HEALTHY');

describe('an agent a push did not change keeps its preview', () => {
  it('a push changing one of four agents makes one build and one deployment, and leaves three previews untouched', async () => {
    const first = await push();
    expect(statuses(first)).toEqual(NAMES.map((name) => [name, 'healthy']));
    const before = { builds: local.builds().length, deployments: local.deployments().length };

    await edit('bravo', 'project/acp.py', (text) => `${text}\n# changed\n`);
    const second = await push();
    expect(statuses(second)).toEqual([
      ['alpha', 'unchanged'],
      ['bravo', 'healthy'],
      ['charlie', 'unchanged'],
      ['delta', 'unchanged'],
    ]);
    expect(local.builds().length - before.builds).toBe(1);
    expect(local.deployments().length - before.deployments).toBe(1);
    for (const index of [0, 2, 3]) {
      // The same preview, with its URL, reported as it is.
      expect(second[index]).toMatchObject({ deploymentId: first[index].deploymentId, url: first[index].url, buildId: first[index].buildId });
      expect((await fetch(second[index].url!)).status).toBe(200);
    }
    expect(
      live()
        .map((deployment) => deployment.id)
        .sort(),
    ).toEqual(second.map((result) => result.deploymentId).sort());
  });

  it('redeploys when asked to, when environments.yaml changed, and when the preview is gone', async () => {
    const first = await push();
    expect(statuses(await push({ redeploy: 'always' }))).toEqual(NAMES.map((name) => [name, 'healthy']));

    await edit('charlie', 'environments.yaml', (text) => `${text}\n# another setting\n`);
    const deleted = live().find((deployment) => deployment.agent_name === 'delta')!;
    await fetch(`${local.url}/v5/agentex/deployments/${deleted.id}`, { method: 'DELETE', headers: { 'x-api-key': KEY } });
    const third = await push();
    expect(statuses(third)).toEqual([
      ['alpha', 'unchanged'],
      ['bravo', 'unchanged'],
      ['charlie', 'healthy'],
      ['delta', 'healthy'],
    ]);
    // Nothing in charlie's context changed: the build is reused, only the deploy is new.
    expect(third[2]).toMatchObject({ buildId: first[2].buildId, buildReused: true });
  });

  it('redeploys a preview that expires within half the ttl', async () => {
    await push({ preview: { label: 'pr-4', ttlMs: 60 * 60_000 } });
    // 1 h left of a preview whose ttl is now 8 h: renewed by deploying again.
    expect(statuses(await push())).toEqual(NAMES.map((name) => [name, 'healthy']));
    expect(statuses(await push())).toEqual(NAMES.map((name) => [name, 'unchanged']));
  });

  it("never keeps another repository's preview of the same label and agent", async () => {
    await push({}, 'github.com/acme/other');
    expect(statuses(await push())).toEqual(NAMES.map((name) => [name, 'healthy']));
  });
});
