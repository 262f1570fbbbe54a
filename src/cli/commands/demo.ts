import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startLocalPlatform } from '../../local-platform/index.js';
import { formatLatency, transcriptText } from '../../conversation/comment.js';
import { runSmoke } from '../../conversation/runner.js';
import { messageScript } from '../../conversation/script.js';
import { loadAgents, type LoadedAgent } from '../../pipeline/agent.js';
import { resolvePreviewLabel } from '../../pipeline/label.js';
import { runAgents, type AgentResult } from '../../pipeline/run.js';
import { teardownPreviews } from '../../previews/teardown.js';
import { createPlatform } from '../../platforms/index.js';
import type { Platform } from '../../platforms/platform.js';
import { registerSecret } from '../../secrets/redact.js';
import { EXIT, type CliContext } from '../context.js';
import { describeResult, describeTeardown } from '../describe.js';
import { prNumber } from '../options.js';
import { packageRoot } from '../package.js';

const DEMO_AGENT = path.join(packageRoot(), 'examples', 'hello-agent');

export interface DemoOptions {
  manifest: string;
  pr: string;
}

export function defineDemo(program: Command): Command {
  return program
    .command('demo')
    .description('the whole preview flow on the embedded local platform: pack, build, preview, visit, tear down')
    .option('-m, --manifest <path>', 'agent to demo', DEMO_AGENT)
    .option('--pr <number>', 'pull request number to preview', '1');
}

/** The whole preview flow against an embedded local platform, for `npm start`. */
export async function demo(cli: CliContext, options: DemoOptions): Promise<number> {
  const { signal } = cli;
  const reporter = cli.reporter();
  const apiKey = `demo-${randomBytes(12).toString('hex')}`;
  registerSecret(apiKey);
  const agents = await loadAgents([options.manifest], { requireEnvironment: true, env: cli.io.env });
  const { label, note } = resolvePreviewLabel(undefined, { number: prNumber(options.pr) }, '--pr');
  if (note) reporter.warn(note);
  const local = await startLocalPlatform({ apiKey, buildStepMs: 150, deployStepMs: 300 });
  try {
    reporter.info(`▶ started the local platform at ${local.url} (an in-memory Agentex v5 API)`);
    const platform = createPlatform({ platform: 'local', apiUrl: local.url, apiKey, env: cli.io.env });
    const push = async (): Promise<AgentResult[]> => {
      const results = await runAgents(platform, agents, {
        mode: 'preview',
        reporter,
        signal,
        preview: { label, ttlMs: 3_600_000 },
        redeploy: 'always', // a reused build replaces the preview: the demo has no repository to keep one unchanged for
        pollIntervalMs: 250,
        timeoutMs: 120_000,
      });
      reporter.flush();
      for (const result of results) cli.print(describeResult(result, true));
      return results;
    };

    reporter.info(`\n▶ pull request #${options.pr} pushed: building and deploying preview "${label}"`);
    const first = await push();
    if (first.some((result) => result.status !== 'healthy')) return EXIT.failed;
    for (const result of first) {
      if (!result.url) continue;
      const response = await fetch(result.url, { signal });
      const page = await response.text();
      const title = /<title>([^<]*)<\/title>/i.exec(page)?.[1] ?? '(no title)';
      cli.print(`  GET ${result.url} → ${response.status} "${title}"`);
      if (!response.ok) return EXIT.failed;
    }

    if (!(await talkToPreviews(cli, platform, agents, first))) return EXIT.failed;
    reporter.info(`\n▶ pull request #${options.pr} pushed again with no change to the agent: the build is reused`);
    const second = await push();
    if (second.some((result) => result.status !== 'healthy')) return EXIT.failed;

    reporter.info(`\n▶ pull request #${options.pr} closed: tearing down "${label}"`);
    const outcome = await teardownPreviews(platform, { label, reporter, signal });
    reporter.flush();
    cli.print(describeTeardown(outcome));
    for (const result of second) {
      if (!result.url) continue;
      const response = await fetch(result.url, { signal });
      await response.body?.cancel();
      cli.print(`  GET ${result.url} → ${response.status} (the preview is gone)`);
    }
    cli.print(`\ndone: ${local.builds().length} build(s) for ${first.length} agent(s) across two pushes; no previews left behind`);
    return outcome.failed.length ? EXIT.failed : EXIT.ok;
  } finally {
    await local.close();
  }
}

/** Holds each agent's preview-smoke.yaml (or a greeting) with its healthy preview and prints the transcript; false when one failed. */
async function talkToPreviews(cli: CliContext, platform: Platform, agents: LoadedAgent[], results: AgentResult[]): Promise<boolean> {
  cli.io.stderr.write(`\n▶ talking to the preview, as the action does once it is healthy (preview-smoke.yaml), and as \`agent-preview chat\` does\n`);
  const requests = results.flatMap((result) => {
    const agent = agents.find((candidate) => candidate.manifest.agent.name === result.agent);
    const script = agent?.smoke ?? messageScript('Hello from the demo', 'demo');
    const deployment = { id: result.deploymentId ?? '', phase: 'healthy' as const, rawStatus: result.deploymentStatus ?? '', events: [] };
    return result.status === 'healthy' && result.deploymentId ? [{ agent: result.agent, script, target: { deployment, agentName: result.agent, url: result.url } }] : [];
  });
  const smoke = await runSmoke(platform, requests, { signal: cli.signal, pollIntervalMs: 250, readyTimeoutMs: 60_000 });
  for (const result of smoke)
    cli.print(`${transcriptText(result)}\n  ${result.agent}: ${result.verdict}, ${result.turns.passed}/${result.turns.total} turns · ${formatLatency(result.latencyMs)}`);
  return smoke.every((result) => result.verdict === 'passed');
}
