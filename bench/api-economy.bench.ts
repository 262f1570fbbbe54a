// Platform requests per minute per agent while waiting on a deploy, and the delay between the
// deployment turning healthy and the run knowing it (when the comment is written), at the
// default 5 s poll interval. The baseline is the poll rate the interval alone implies.
import { loadAgents } from '../src/pipeline/agent.js';
import { silentReporter } from '../src/pipeline/reporter.js';
import { runAgents } from '../src/pipeline/run.js';
import { createPlatform } from '../src/platforms/index.js';
import { startLocalPlatform } from '../src/local-platform/index.js';
import { machine, report } from './support.js';

console.log(`machine: ${machine()}`);
const pollIntervalMs = 5000;
const deployStepMs = 12_000;
const local = await startLocalPlatform({ buildStepMs: 200, deployStepMs });
try {
  const platform = createPlatform({ platform: 'local', apiUrl: local.url });
  const agents = await loadAgents(['examples/hello-agent'], { requireEnvironment: true });
  let healthySeenAt = 0;
  const [result] = await runAgents(platform, agents, {
    mode: 'preview',
    reporter: {
      ...silentReporter,
      status: (_agent, what, status) => {
        if (what === 'deployment' && status === 'HEALTHY') healthySeenAt = Date.now();
      },
    },
    preview: { label: 'bench', ttlMs: 3_600_000 },
    pollIntervalMs,
    timeoutMs: 300_000,
  });
  const created = local.requests.find((request) => request.route === 'deployments.create')!;
  // The wait: from the create to the poll that saw HEALTHY, every request the run made meanwhile.
  const waits = local.requests.filter((request) => request.at > created.at && request.at <= healthySeenAt);
  const waitMinutes = (healthySeenAt - created.at) / 60_000;
  const perMinute = waits.length / waitMinutes;
  const deployment = local.deployments().find((record) => record.id === result.deploymentId)!;
  const healthyAt = Date.parse(deployment.deploy_events.find((event) => event.reason === 'Started')!.timestamp);
  const delay = healthySeenAt - healthyAt;
  console.log(`waited ${(waitMinutes * 60).toFixed(1)} s with ${waits.length} requests`);
  report({
    bench: 'API economy',
    metric: 'requests per minute per agent while waiting',
    ours: perMinute,
    baseline: 60_000 / pollIntervalMs,
    unit: 'req/min',
    goal: '≤ 15 req/min',
    met: perMinute <= 15,
  });
  report({
    bench: 'API economy',
    metric: 'healthy → run knows it',
    ours: Math.max(0, delay),
    baseline: pollIntervalMs,
    unit: 'ms',
    goal: '≤ one poll interval',
    met: delay <= pollIntervalMs,
  });
} finally {
  await local.close();
}
