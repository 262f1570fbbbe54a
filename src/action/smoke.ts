/**
 * The action's conversations with its healthy previews: which agents are talked to, results kept
 * from an earlier run on an unchanged preview, the job log, the report file, the commit status
 * `agent-preview/smoke` and the step's failure.
 */
import path from 'node:path';
import * as core from '@actions/core';
import { findStickyComments, type CommentSection } from '../forge/comment.js';
import { firstFailure, formatLatency, readKeptSmoke, smokeCommentSection, transcriptText } from '../conversation/comment.js';
import { buildSmokeReport, writeSmokeReport } from '../conversation/report.js';
import { overallVerdict, runSmoke, unheldSmoke, type AgentSmoke, type SmokeRequest } from '../conversation/runner.js';
import { previewWatch } from '../conversation/target.js';
import type { SmokeScript } from '../conversation/script.js';
import type { CommitState, Forge, PullRef, RepoRef } from '../forge/forge.js';
import type { AgentResult } from '../agent-result.js';
import type { LoadedAgent } from '../pipeline/agent.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';
import type { Platform } from '../platforms/platform.js';
import { redact, urlCarriesCredential } from '../secrets/redact.js';
import type { SmokeMode } from './inputs.js';
import { printUntrusted } from './reporter.js';

/** What the conversations need to know of the run. */
export interface SmokeRun {
  mode: SmokeMode;
  /** The `smoke-message` conversation, for agents without a preview-smoke.yaml. */
  message?: SmokeScript;
  platform: Platform;
  forge?: Forge;
  pr?: PullRef;
  repoRef: RepoRef;
  repo?: SourceRepo;
  headSha: string;
  label: string;
  commentKey?: string;
  runUrl?: string;
  maxParallel: number;
  readyTimeoutMs: number;
  pollIntervalMs: number;
  /** Where the report file goes (`RUNNER_TEMP`). */
  reportDir: string;
  /** What the chat command in the comment needs besides the PR. */
  chat: { apiUrl?: string; agentexUrl?: string };
}

export interface SmokeOutcome {
  verdict: 'passed' | 'failed' | 'unsupported' | 'skipped';
  results: AgentSmoke[];
  reportPath?: string;
  /** The comment's part: the results and the chat command. */
  section?: CommentSection;
  /** Fails the step (`smoke: auto` only). */
  failure?: string;
}

export const SMOKE_STATUS_CONTEXT = 'agent-preview/smoke';

/** Talks to every healthy preview that has a script, or shows what an earlier run measured on an unchanged one. */
export async function holdConversations(run: SmokeRun, agents: LoadedAgent[], results: AgentResult[]): Promise<SmokeOutcome> {
  const section = (found: AgentSmoke[]) => smokeCommentSection(found, { chatCommand: chatCommand(run, results) });
  const requests = run.mode === 'off' ? [] : wantedConversations(run, agents, results);
  if (!requests.length) {
    core.info(`agent-preview: no conversations held: ${run.mode === 'off' ? 'smoke is off' : 'no preview-smoke.yaml beside a healthy preview, and no smoke-message'}`);
    return { verdict: 'skipped', results: [], section: section([]) };
  }
  const kept = await keptResults(run, requests);
  const fresh = await measure(
    run,
    requests.filter((request) => !kept.has(request.agent)),
  );
  const found = requests.map((request) => kept.get(request.agent) ?? fresh.get(request.agent)!);
  printResults(found);
  const verdict = overallVerdict(found.map((result) => result.verdict));
  const report = buildSmokeReport(found, {
    platform: run.platform.name,
    repository: run.repo && formatSourceRepo(run.repo),
    pullRequest: run.pr?.number,
    commit: run.headSha,
    label: run.label,
  });
  const reportPath = await writeSmokeReport(report, path.join(run.reportDir, `agent-preview-smoke-${run.label || 'run'}${run.commentKey ? `-${run.commentKey}` : ''}.json`));
  await setSmokeStatus(run, found);
  const failed = found.filter((result) => result.verdict === 'failed');
  const why = failed.map((result) => `${result.agent}: ${firstFailure(result) ?? 'failed'}`).join('; ');
  if (verdict === 'unsupported') core.notice(redact(`agent-preview: conversations not held: ${found.find((result) => result.reason)?.reason ?? 'unsupported'}`));
  if (failed.length && run.mode === 'report') core.warning(redact(`conversations with the preview failed (smoke: report, so the step does not fail): ${why}`));
  return {
    verdict,
    results: found,
    reportPath,
    section: section(found),
    failure: failed.length && run.mode === 'auto' ? `conversations with the preview failed: ${why}` : undefined,
  };
}

/** Each healthy preview whose agent has a script (its preview-smoke.yaml, else the smoke-message). */
function wantedConversations(run: SmokeRun, agents: LoadedAgent[], results: AgentResult[]): (SmokeRequest & { result: AgentResult })[] {
  const wanted: (SmokeRequest & { result: AgentResult })[] = [];
  for (const result of results) {
    if ((result.status !== 'healthy' && result.status !== 'unchanged') || !result.deploymentId) continue;
    const script = agents.find((agent) => agent.manifest.agent.name === result.agent)?.smoke ?? run.message;
    if (!script) continue;
    const metadata: Record<string, string> = { commit: run.headSha };
    if (run.repo) metadata.repository = formatSourceRepo(run.repo);
    if (run.pr) metadata.pull_request = String(run.pr.number);
    // The deployment record itself is read just before the conversation (`measure`).
    wanted.push({
      agent: result.agent,
      script,
      result,
      target: {
        deployment: { id: result.deploymentId, phase: 'healthy', rawStatus: result.deploymentStatus ?? '', events: [] },
        agentName: result.agent,
        url: result.url,
        metadata,
      },
    });
  }
  return wanted;
}

/**
 * Results an earlier run measured on the same, unchanged preview with the same script, from the
 * hidden record in our sticky comment. The comment is where they are kept because it is the one
 * place every run of this PR already reads and writes, on GitHub and Gitea alike, with no other
 * permission or storage: the platform keeps nothing for us (an Agentex deployment takes no
 * metadata), a commit status belongs to a commit that has changed, and artifacts do not exist on Gitea.
 */
async function keptResults(run: SmokeRun, requests: (SmokeRequest & { result: AgentResult })[]): Promise<Map<string, AgentSmoke>> {
  const kept = new Map<string, AgentSmoke>();
  const unchanged = requests.filter((request) => request.result.status === 'unchanged');
  if (!unchanged.length || !run.forge || !run.pr) return kept;
  try {
    const authors = await run.forge.commentAuthors();
    const [ours] = findStickyComments(await run.forge.listComments(run.pr), { authors, key: run.commentKey });
    const recorded = await readKeptSmoke(ours?.body);
    for (const request of unchanged) {
      const earlier = recorded.find(
        (result) =>
          result.agent === request.agent &&
          result.deploymentId === request.result.deploymentId &&
          result.script.digest === request.script.digest &&
          result.verdict !== 'unsupported',
      );
      if (earlier) kept.set(request.agent, { ...earlier, kept: true });
    }
  } catch (err) {
    core.warning(`agent-preview: could not read the last conversations from the PR comment (${redact((err as Error).message)}); talking to the preview again`);
  }
  for (const agent of kept.keys()) core.info(`agent-preview: ${agent}: the preview is unchanged; showing its last conversations instead of holding them again`);
  return kept;
}

/** Reads each deployment, then holds the conversations; each result says which commit measured it. */
async function measure(run: SmokeRun, requests: SmokeRequest[]): Promise<Map<string, AgentSmoke>> {
  const measured = new Map<string, AgentSmoke>();
  const ready: SmokeRequest[] = [];
  for (const request of requests) {
    try {
      ready.push({ ...request, target: { ...request.target, deployment: await run.platform.getDeployment(request.target.deployment.id) } });
    } catch (err) {
      measured.set(request.agent, unheldSmoke(request, `could not read deployment ${request.target.deployment.id}: ${(err as Error).message}`));
    }
  }
  const at = new Date().toISOString();
  const results = await runSmoke(run.platform, ready, {
    maxParallel: run.maxParallel,
    readyTimeoutMs: run.readyTimeoutMs,
    pollIntervalMs: run.pollIntervalMs,
    watch: previewWatch(run.platform, run.pollIntervalMs),
  });
  for (const result of results) measured.set(result.agent, result);
  for (const result of measured.values()) result.measured = { sha: run.headSha, at };
  return measured;
}

/** Each agent's verdict and transcript in the job log: replies are the agent's words, printed as untrusted text. */
function printResults(results: AgentSmoke[]): void {
  for (const result of results) {
    core.startGroup(`conversations ${result.agent}`);
    printUntrusted([...transcriptText(result).split('\n'), '', `${result.agent}: ${plainSummary(result)}`]);
    core.endGroup();
  }
}

function plainSummary(result: AgentSmoke): string {
  if (result.verdict === 'unsupported') return `not tested: ${result.reason ?? 'unsupported'}`;
  if (result.verdict === 'replaced') return `not finished: ${result.reason ?? 'the preview was replaced'}`;
  const counts = `${result.turns.passed}/${result.turns.total} turns passed · ${formatLatency(result.latencyMs)}`;
  const kept = result.kept && result.measured ? ` (kept from ${result.measured.sha.slice(0, 7)}: the preview is unchanged)` : '';
  return result.verdict === 'passed' ? `${counts}${kept}` : `${counts}; ${firstFailure(result) ?? 'failed'}${kept}`;
}

/**
 * `agent-preview/smoke` on the head commit: success or failure. Nothing is set when nothing could be
 * asked (`unsupported`): a status would claim a check that did not happen.
 */
async function setSmokeStatus(run: SmokeRun, results: AgentSmoke[]): Promise<void> {
  const verdict = overallVerdict(results.map((result) => result.verdict));
  if (!run.forge || (verdict !== 'passed' && verdict !== 'failed')) return;
  const failed = results.find((result) => result.verdict === 'failed');
  const state: CommitState = failed ? 'failure' : 'success';
  const passed = results.reduce((sum, result) => sum + result.turns.passed, 0);
  const total = results.reduce((sum, result) => sum + result.turns.total, 0);
  const latency = formatLatency(results.reduce((sum, result) => sum + result.latencyMs, 0));
  const keptFrom = results.find((result) => result.kept)?.measured?.sha.slice(0, 7);
  const description = failed
    ? redact(`${failed.agent}: ${firstFailure(failed) ?? 'failed'}`)
    : `${passed}/${total} turns passed${results.length > 1 ? ` across ${results.length} agents` : ''} · ${latency}${keptFrom ? ` (kept from ${keptFrom})` : ''}`;
  const context = run.commentKey ? `${SMOKE_STATUS_CONTEXT}/${run.commentKey}` : SMOKE_STATUS_CONTEXT;
  await run.forge
    .setCommitStatus(run.repoRef, { sha: run.headSha, state, context, description, targetUrl: run.runUrl })
    .catch((err) => core.warning(`could not set the ${context} commit status: ${redact((err as Error).message)}`));
}

/** The command that opens a chat with this PR's preview, where the platform can hold one. */
export function chatCommand(run: Pick<SmokeRun, 'pr' | 'repo' | 'chat'> & { platform: Pick<Platform, 'name' | 'conversation'> }, results: AgentResult[]): string | undefined {
  const live = results.filter((result) => result.status === 'healthy' || result.status === 'unchanged');
  if (!run.pr || !live.length || !run.platform.conversation) return undefined;
  const url = (flag: string, value: string | undefined) => (value && !urlCarriesCredential(value) && !/\s/.test(value) ? ` ${flag} ${value}` : '');
  return [
    `npx agent-preview --platform ${run.platform.name}${url('--api-url', run.chat.apiUrl)} chat --pr ${run.pr.number}`,
    run.repo ? ` --repo ${formatSourceRepo(run.repo)}` : '',
    url('--agentex-url', run.chat.agentexUrl),
    live.length > 1 ? ` --agent ${live[0].agent}` : '',
  ].join('');
}
