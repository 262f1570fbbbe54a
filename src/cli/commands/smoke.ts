import type { Command } from 'commander';
import { formatLatency, firstFailure, transcriptText } from '../../conversation/comment.js';
import { buildSmokeReport, writeSmokeReport } from '../../conversation/report.js';
import { overallVerdict, runSmoke, unheldSmoke, type AgentSmoke, type SmokeRequest } from '../../conversation/runner.js';
import { messageScript } from '../../conversation/script.js';
import { findLivePreviews, noPreviewMessage, previewWatch } from '../../conversation/target.js';
import { parseDuration } from '../../duration.js';
import { InputError } from '../../errors.js';
import { loadAgents } from '../../pipeline/agent.js';
import { cliRepository, previewLabelsFor } from '../repository.js';
import { DEFAULT_MAX_PARALLEL, parseMaxParallel } from '../../pipeline/run.js';
import { formatSourceRepo } from '../../pipeline/source-repo.js';
import { EXIT, type CliContext } from '../context.js';
import { prNumber } from '../options.js';

export interface SmokeOptions {
  pr?: string;
  label?: string;
  manifest: string[];
  repo?: string;
  agentexUrl?: string;
  message?: string;
  report?: string;
  maxParallel: string;
  readyTimeout: string;
  pollInterval: string;
}

export function defineSmoke(program: Command): Command {
  return program
    .command('smoke')
    .description("hold each agent's preview-smoke.yaml conversations with the pull request's live preview; prints the transcript and verdict, exit 1 on failure")
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--label <label>', 'preview label')
    .option('-m, --manifest <path...>', "manifest.yaml files or folders; each agent's preview-smoke.yaml sits beside its manifest", ['manifest.yaml'])
    .option('--repo <host/owner/repo>', "the repository the action deployed from (its previews' labels carry it); default: the one the checkout's git remote origin names")
    .option('--agentex-url <url>', 'Agentex: the Agentex server that holds conversations (env AGENTEX_BASE_URL)')
    .option('--message <text>', 'for agents without a preview-smoke.yaml: one message, expecting any non-empty reply')
    .option('--report <file>', 'also write the JSON report (every turn, reply, latency and verdict) to this file')
    .option('--max-parallel <n>', 'how many agents are talked to at once', String(DEFAULT_MAX_PARALLEL))
    .option('--ready-timeout <duration>', 'how long to wait for a preview to accept conversations', '5m')
    .option('--poll-interval <duration>', 'how often to check whether it does', '2s');
}

/** Runs the agents' conversations against their live previews; 1 unless every one passed. */
export async function smoke(cli: CliContext, options: SmokeOptions): Promise<number> {
  const pr = prNumber(options.pr);
  if (!options.label && pr === undefined) throw new InputError('give --pr (or --label)', { field: '--pr' });
  const maxParallel = parseMaxParallel(options.maxParallel, '--max-parallel');
  const readyTimeoutMs = parseDuration(options.readyTimeout, '--ready-timeout', { minMs: 1000, maxMs: 60 * 60_000 });
  const pollIntervalMs = parseDuration(options.pollInterval, '--poll-interval', { minMs: 100, maxMs: 600_000 });
  const fallback = options.message === undefined ? undefined : messageScript(options.message, '--message');
  const agents = await loadAgents(options.manifest, { requireEnvironment: false });
  const scripts = agents.map((agent) => ({ agent: agent.manifest.agent.name, script: agent.smoke ?? fallback, manifest: agent.manifest.file }));
  const missing = scripts.find((entry) => !entry.script);
  if (missing) throw new InputError(`no preview-smoke.yaml beside ${missing.manifest}; write one (see docs/conversations.md) or pass --message`, { field: '--manifest' });

  const reporter = cli.reporter();
  // The repository as status and teardown take it: --repo, else the checkout's origin remote.
  const { labels, repo } = previewLabelsFor(cli, options, await cliRepository(cli, options.repo, reporter));
  const platform = cli.platform(reporter, { agentexUrl: options.agentexUrl });
  const what = pr !== undefined ? `pull request #${pr}` : `label "${labels.label}"`;
  const previews = await findLivePreviews(platform, labels, { agents: scripts.map((entry) => entry.agent), repo, signal: cli.signal });
  const requests: SmokeRequest[] = scripts.map(({ agent, script }) => {
    const deployment = previews.find((candidate) => candidate.agentName === agent) ?? { id: '', phase: 'unknown', rawStatus: '', events: [] };
    const metadata: Record<string, string> = { ...(pr !== undefined ? { pull_request: String(pr) } : {}), ...(repo ? { repository: formatSourceRepo(repo) } : {}) };
    return { agent, script: script!, target: { deployment, agentName: agent, url: deployment.url, metadata } };
  });
  const live = requests.filter((request) => request.target.deployment.phase === 'healthy');
  reporter.info(`holding ${live.length ? `the conversations of ${live.map((request) => request.agent).join(', ')}` : 'no conversations'} with ${what}'s previews`);
  const held = await runSmoke(platform, live, { maxParallel, signal: cli.signal, readyTimeoutMs, pollIntervalMs, watch: previewWatch(platform, pollIntervalMs) });
  const results = requests.map(
    (request) =>
      held.find((result) => result.agent === request.agent) ??
      unheldSmoke(
        request,
        request.target.deployment.id
          ? `preview ${request.target.deployment.id} is ${request.target.deployment.rawStatus}, not healthy`
          : noPreviewMessage(platform, labels, { agent: request.agent, repo, what }),
      ),
  );
  reporter.flush();
  return printSmoke(cli, results, { platform: platform.name, repository: repo && formatSourceRepo(repo), pullRequest: pr, label: labels.label }, options.report);
}

async function printSmoke(cli: CliContext, results: AgentSmoke[], context: Parameters<typeof buildSmokeReport>[1], reportFile?: string): Promise<number> {
  const report = buildSmokeReport(results, context);
  if (reportFile) await writeSmokeReport(report, reportFile);
  if (cli.options.json) cli.emitJson(report);
  else {
    for (const result of results) cli.print(`${transcriptText(result)}\n${verdictLine(result)}\n`);
    cli.print(`smoke: ${report.verdict}`);
  }
  return overallVerdict(results.map((result) => result.verdict)) === 'passed' ? EXIT.ok : EXIT.failed;
}

function verdictLine(result: AgentSmoke): string {
  const counts = `${result.turns.passed}/${result.turns.total} turns · ${formatLatency(result.latencyMs)}`;
  if (result.verdict === 'passed') return `✔ ${result.agent}: passed, ${counts}`;
  if (result.verdict === 'unsupported') return `✘ ${result.agent}: not tested: ${result.reason ?? 'unsupported'}`;
  if (result.verdict === 'replaced') return `✘ ${result.agent}: not finished: ${result.reason ?? 'the preview was replaced'}`;
  return `✘ ${result.agent}: failed, ${counts}: ${firstFailure(result) ?? 'failed'}`;
}
