// A monorepo of four agents against the local platform with fixed build and deploy times:
// - wall time of a preview run of four changed agents against one (agents run in parallel);
// - a push changing one of four agents: builds and deployments it makes, previews left untouched
//   (baseline: the same push with redeploy: always, which deploys every agent again);
// - context uploads per build by a new process with a changed tree, under the newer Agentex rule
//   that refuses agent_name once the agent exists (baseline: the ideal, one).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform } from '../src/local-platform/index.js';
import { loadAgents } from '../src/pipeline/agent.js';
import { silentReporter } from '../src/pipeline/reporter.js';
import { runAgents, type AgentResult, type RunOptions } from '../src/pipeline/run.js';
import { createPlatform } from '../src/platforms/index.js';
import { machine, report, sideBySide } from './support.js';

console.log(`machine: ${machine()}`);
const NAMES = ['alpha', 'bravo', 'charlie', 'delta'];
const BUILD_STEP_MS = 500;
const DEPLOY_STEP_MS = 500;
const root = await mkdtemp(path.join(tmpdir(), 'ap-bench-mono-'));
const local = await startLocalPlatform({ buildStepMs: BUILD_STEP_MS, deployStepMs: DEPLOY_STEP_MS, agentNames: 'strict' });
let change = 0;

async function edit(agent: string, file: string, update: (text: string) => string): Promise<void> {
  const at = path.join(root, agent, file);
  await writeFile(at, update(await readFile(at, 'utf8')));
}

/** A change to each agent's code, so that nothing can be reused. */
async function changeAgents(names: string[]): Promise<void> {
  change++;
  for (const name of names) await edit(name, 'project/acp.py', (text) => `${text}\n# change ${change}\n`);
}

async function preview(names: string[], label: string, extra: Partial<RunOptions> = {}): Promise<AgentResult[]> {
  // A new process each run: nothing learnt about the platform's agents.
  const platform = createPlatform({ platform: 'local', apiUrl: local.url });
  const agents = await loadAgents(
    names.map((name) => path.join(root, name)),
    { requireEnvironment: true },
  );
  const results = await runAgents(platform, agents, {
    mode: 'preview',
    preview: { label, ttlMs: 8 * 3_600_000 },
    reporter: silentReporter,
    pollIntervalMs: 100,
    timeoutMs: 120_000,
    provenance: { repo: 'github.com/bench/mono', commit: String(change) },
    ...extra,
  });
  const failed = results.filter((result) => result.status === 'failed');
  if (failed.length) throw new Error(failed.map((result) => result.error).join('; '));
  return results;
}

function count(route: string, since: number): number {
  return local.requests.filter((request) => request.route === route && request.at >= since).length;
}

try {
  for (const name of NAMES) {
    await cp('examples/hello-agent', path.join(root, name), { recursive: true });
    await edit(name, 'manifest.yaml', (text) => text.replace('name: hello-agent', `name: ${name}`));
  }

  // 1. Wall time: four changed agents against one, each run with its own label.
  let run = 0;
  const wall = await sideBySide(
    3,
    async () => {
      await changeAgents(NAMES);
      await preview(NAMES, `wall-${run++}`);
    },
    async () => {
      await changeAgents(['alpha']);
      await preview(['alpha'], `wall-${run++}`);
    },
  );
  console.log(`four agents ${(wall.a / 1000).toFixed(2)} s, one agent ${(wall.b / 1000).toFixed(2)} s`);
  report({ bench: 'Monorepo', metric: 'preview run: four changed agents vs one (wall)', ours: wall.a, baseline: wall.b, unit: 'ms', goal: '≤ 1.3×', met: wall.a / wall.b <= 1.3 });

  // 2. A push that changes one agent of four.
  await changeAgents(NAMES);
  const first = await preview(NAMES, 'push');
  await changeAgents(['charlie']);
  const since = Date.now();
  const second = await preview(NAMES, 'push');
  const builds = count('builds.create', since);
  const deployments = count('deployments.create', since);
  const untouched = second.filter((result, index) => result.status === 'unchanged' && result.deploymentId === first[index].deploymentId).length;
  const alwaysSince = Date.now();
  await preview(NAMES, 'push', { redeploy: 'always' });
  const alwaysDeployments = count('deployments.create', alwaysSince);
  console.log(
    `push changing one of four: ${builds} build(s), ${deployments} deployment(s), ${untouched} preview(s) untouched; redeploy: always made ${alwaysDeployments} deployments`,
  );
  report({
    bench: 'Monorepo',
    metric: `push changing one of four agents: deployments (with ${builds} build, ${untouched} previews untouched)`,
    ours: deployments,
    baseline: alwaysDeployments,
    unit: 'deployments',
    goal: '1 build, 1 deployment, 3 untouched',
    met: builds === 1 && deployments === 1 && untouched === 3,
  });

  // 3. Uploads per build: a new process, a changed tree, an agent that already exists.
  await changeAgents(NAMES);
  const uploadsSince = Date.now();
  await preview(NAMES, 'uploads');
  const uploads = count('builds.create', uploadsSince);
  const made = local.builds().filter((build) => Date.parse(build.created_at) >= uploadsSince).length;
  console.log(`${uploads} uploads for ${made} builds`);
  report({
    bench: 'Monorepo',
    metric: 'context uploads per build (new process, changed tree, existing agent)',
    ours: uploads / made,
    baseline: 1,
    unit: 'uploads',
    goal: 'exactly 1',
    met: uploads === made,
  });
} finally {
  await local.close();
  await rm(root, { recursive: true, force: true });
}
