// The wall time a one-turn smoke conversation adds over the bare RPC round trip it rests on, against
// the local platform, measured side by side in one process:
// - baseline: one JSON-RPC `message/send` to the preview's deployment, on a task made beforehand
//   (POST /agents/{agent_id}/deployments/{deployment_id}/rpc, the one call a turn cannot do without);
// - ours: `runSmoke` with a one-turn preview-smoke.yaml, as the action and `agent-preview smoke` run it:
//   find the agent and its deployment record on the Agentex server, create the task, send the message,
//   check the reply, and build the report.
// Goal: at most 100 ms more.
import { Agent, request } from 'undici';
import { buildSmokeReport, serializeSmokeReport } from '../src/conversation/report.js';
import { runSmoke, type SmokeRequest } from '../src/conversation/runner.js';
import { parseSmokeScript } from '../src/conversation/script.js';
import { startLocalPlatform } from '../src/local-platform/index.js';
import { loadAgents } from '../src/pipeline/agent.js';
import { runAgents } from '../src/pipeline/run.js';
import { silentReporter } from '../src/pipeline/reporter.js';
import { createPlatform } from '../src/platforms/index.js';
import { machine, report, sideBySide } from './support.js';

const RUNS = Number(process.env.BENCH_SMOKE_RUNS ?? 40);
type Json = Record<string, any>;

console.log(`machine: ${machine()}`);
const local = await startLocalPlatform({ buildStepMs: 10, deployStepMs: 10 });
const platform = createPlatform({ platform: 'local', apiUrl: local.url, env: {} });
try {
  const agents = await loadAgents(['examples/hello-agent'], { requireEnvironment: true, smoke: false });
  const [deployed] = await runAgents(platform, agents, {
    mode: 'preview',
    reporter: silentReporter,
    preview: { label: 'pr-bench', ttlMs: 3_600_000 },
    pollIntervalMs: 20,
    timeoutMs: 60_000,
  });
  if (deployed.status !== 'healthy') throw new Error(`the preview did not become healthy: ${deployed.error}`);
  const deployment = await platform.getDeployment(deployed.deploymentId!);

  // The baseline's own client: one keep-alive connection, as the platform client keeps one.
  const dispatcher = new Agent({ connections: 1 });
  const headers = { 'content-type': 'application/json', 'x-api-key': 'local-platform', 'x-selected-account-id': 'acct-local' };
  const get = async (path: string): Promise<any> => (await request(`${local.url}${path}`, { headers, dispatcher })).body.json();
  const agent = (await get('/agents/name/hello-agent')) as Json;
  const records = (await get(`/agents/${agent.id}/deployments`)) as Json[];
  const record = records.find((candidate) => candidate.sgp_deploy_id === deployment.id)!;
  const rpc = async (method: string, params: Json): Promise<Json> => {
    const response = await request(`${local.url}/agents/${agent.id}/deployments/${record.id}/rpc`, {
      method: 'POST',
      headers,
      dispatcher,
      body: JSON.stringify({ jsonrpc: '2.0', id: '1', method, params }),
    });
    return (await response.body.json()) as Json;
  };
  const task = (await rpc('task/create', { name: 'bench-baseline' })).result as Json;

  const script = await parseSmokeScript('conversations:\n  - name: greets\n    turns:\n      - send: Hello\n        expect: {contains: Hello}\n', 'preview-smoke.yaml');
  const smokeRequest: SmokeRequest = { agent: 'hello-agent', script, target: { deployment, agentName: 'hello-agent', url: deployment.url, metadata: { pull_request: '1' } } };
  const bareTurn = async () => {
    const answer = await rpc('message/send', { task_id: task.id, content: { type: 'text', author: 'user', content: 'Hello' }, stream: false });
    if (answer.error) throw new Error(JSON.stringify(answer.error));
  };
  const smokeTurn = async () => {
    const [result] = await runSmoke(platform, [smokeRequest], { pollIntervalMs: 20 });
    if (result.verdict !== 'passed') throw new Error(`the smoke did not pass: ${JSON.stringify(result.conversations)}`);
    serializeSmokeReport(buildSmokeReport([result], { platform: 'local' }));
  };
  // Warm both paths (connections, JIT) before measuring.
  for (let i = 0; i < 5; i++) {
    await bareTurn();
    await smokeTurn();
  }
  const { a: ours, b: baseline } = await sideBySide(RUNS, smokeTurn, bareTurn);
  await dispatcher.close();
  const extra = ours - baseline;
  console.log(`one-turn smoke: ${ours.toFixed(1)} ms; bare message/send round trip: ${baseline.toFixed(1)} ms; extra ${extra.toFixed(1)} ms (median of ${RUNS})`);
  report({ bench: 'smoke', metric: 'one-turn smoke over the bare RPC round trip', ours, baseline, unit: 'ms', goal: 'at most 100 ms more', met: extra <= 100 });
} finally {
  await local.close();
}
