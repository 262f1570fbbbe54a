import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAgents, type LoadedAgent } from '../../../src/pipeline/agent.js';
import type { Reporter } from '../../../src/pipeline/reporter.js';
import { runAgents, type RunOptions } from '../../../src/pipeline/run.js';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import { FAIL_BUILD_MARKER, startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import type { Builder, Platform } from '../../../src/platforms/platform.js';
import { HELLO_AGENT } from '../../support/agents.js';
import { until } from '../../support/wait.js';

const KEY = 'sk-parallel-test-key';
let local: LocalPlatform;
let root: string;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 40, deployStepMs: 20 });
  root = await mkdtemp(path.join(tmpdir(), 'ap-parallel-'));
});
afterEach(async () => {
  await local.close();
  await rm(root, { recursive: true, force: true });
});

async function agents(names: string[], failing: string[] = []): Promise<LoadedAgent[]> {
  for (const name of names) {
    const dir = path.join(root, name);
    await cp(HELLO_AGENT, dir, { recursive: true });
    const manifest = path.join(dir, 'manifest.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('name: hello-agent', `name: ${name}`));
    // Each agent its own tree, so none reuses another's build.
    const dockerfile = path.join(dir, 'Dockerfile');
    await writeFile(dockerfile, `${await readFile(dockerfile, 'utf8')}\nLABEL agent=${name}\n${failing.includes(name) ? `${FAIL_BUILD_MARKER}\n` : ''}`);
  }
  return loadAgents(
    names.map((name) => path.join(root, name)),
    { requireEnvironment: true },
  );
}

function platform(): AgentexPlatform {
  return new AgentexPlatform({ baseUrl: local.url, apiKey: KEY, name: 'local', deploymentsCarryUrl: true, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

/** The platform, with every build's creation held until `count` agents are building at once. */
function heldUntilTogether(inner: Platform, count: number): Platform {
  let arrived = 0;
  let release!: () => void;
  const together = new Promise<void>((resolve) => (release = resolve));
  const builder: Builder = Object.assign(Object.create(inner.builder!) as Builder, {
    async createBuild(...args: Parameters<Builder['createBuild']>) {
      if (++arrived === count) release();
      await together;
      return inner.builder!.createBuild(...args);
    },
  });
  return Object.assign(Object.create(inner) as Platform, { builder });
}

/** Lines per agent, and how many agents were between their first line and agentDone at once. */
function recordingReporter() {
  const running = new Set<string>();
  const building = new Set<string>();
  const done: string[] = [];
  let most = 0;
  const seen = (agent: string) => {
    running.add(agent);
    most = Math.max(most, running.size);
  };
  const reporter: Reporter = {
    info() {},
    warn() {},
    step: (agent, message) => {
      if (!message.startsWith('packing')) seen(agent);
      if (message.startsWith('building ')) building.add(agent);
    },
    buildLog: (agent) => seen(agent),
    agentDone: (agent) => {
      running.delete(agent);
      done.push(agent);
    },
  };
  return { reporter, done, building, most: () => most };
}

const options = (reporter: Reporter, extra: Partial<RunOptions> = {}): RunOptions => ({
  mode: 'preview',
  preview: { label: 'pr-7', ttlMs: 3_600_000 },
  reporter,
  pollIntervalMs: 50,
  timeoutMs: 30_000,
  ...extra,
});

describe('agents of a monorepo run in parallel', () => {
  it('four agents build at once under the default limit, and their results keep the manifests order', async () => {
    const four = await agents(['alpha', 'bravo', 'charlie', 'delta']);
    // Were they run one after another, the first build would wait for the fourth forever.
    const held = heldUntilTogether(platform(), 4);
    const { reporter, done } = recordingReporter();
    const results = await runAgents(held, four, options(reporter));
    expect(results.map((result) => [result.agent, result.status])).toEqual([
      ['alpha', 'healthy'],
      ['bravo', 'healthy'],
      ['charlie', 'healthy'],
      ['delta', 'healthy'],
    ]);
    expect([...done].sort()).toEqual(['alpha', 'bravo', 'charlie', 'delta']);
  }, 20_000);

  it('max-parallel bounds how many run at once', async () => {
    const four = await agents(['alpha', 'bravo', 'charlie', 'delta']);
    const held = heldUntilTogether(platform(), 2);
    const recorder = recordingReporter();
    const results = await runAgents(held, four, options(recorder.reporter, { maxParallel: 2 }));
    expect(results.every((result) => result.status === 'healthy')).toBe(true);
    expect(recorder.most()).toBe(2);
  }, 20_000);

  it("one agent's failed build does not stop the others", async () => {
    const three = await agents(['alpha', 'bravo', 'charlie'], ['bravo']);
    const results = await runAgents(platform(), three, options(recordingReporter().reporter));
    expect(results.map((result) => [result.agent, result.status, result.failedPhase])).toEqual([
      ['alpha', 'healthy', undefined],
      ['bravo', 'failed', 'build'],
      ['charlie', 'healthy', undefined],
    ]);
  });

  it('a cancel stops them all and cancels every running build on the platform', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 2_000, deployStepMs: 20 });
    const three = await agents(['alpha', 'bravo', 'charlie']);
    const controller = new AbortController();
    const recorder = recordingReporter();
    const run = runAgents(platform(), three, options(recorder.reporter, { signal: controller.signal }));
    // As soon as the platform has taken the three uploads, whether or not its answers have arrived.
    await until(
      async () => local.builds().length,
      (count) => count === 3,
    );
    controller.abort(new Error('cancelled by the test'));
    await expect(run).rejects.toThrow('cancelled by the test');
    // Every build was cancelled before runAgents returned (one whose create answer the cancel cut
    // off too), and none was deployed.
    expect(local.builds().map((build) => build.build_status)).toEqual([1, 2, 3].map(() => expect.stringMatching(/^CANCELL(ING|ED)$/)));
    expect(local.requests.filter((entry) => entry.route === 'builds.cancel')).toHaveLength(3);
    expect(local.deployments()).toEqual([]);
  });
});
