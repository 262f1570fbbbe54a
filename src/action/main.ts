import { appendFile } from 'node:fs/promises';
import { EOL, tmpdir } from 'node:os';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { InputError } from '../errors.js';
import { renderPreviewComment } from '../forge/comment.js';
import type { Forge, PullRef } from '../forge/forge.js';
import { createForge } from '../forge/client.js';
import { writeSpacingFromEnv } from '../forge/throttle.js';
import { upsertStickyComment } from '../forge/sticky.js';
import { loadAgents, type LoadedAgent } from '../pipeline/agent.js';
import { formatDuration } from '../duration.js';
import { validateImageInput } from '../pipeline/image.js';
import { resolvePreviewLabel, type PreviewLabels } from '../pipeline/label.js';
import { runAgents, type AgentResult, type RunMode } from '../pipeline/run.js';
import { formatSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';
import { createPlatform, labelRuleFor, PLATFORM_KEY_VARIABLES } from '../platforms/index.js';
import type { Platform } from '../platforms/platform.js';
import { closePreviews, describeClose, environmentName } from '../previews/close.js';
import { redact } from '../secrets/redact.js';
import { readRunEvent, type RunEvent } from './event.js';
import { readInputs, type ActionInputs, type ActionMode } from './inputs.js';
import { actionReporter, printUntrusted } from './reporter.js';
import { holdConversations, type SmokeOutcome, type SmokeRun } from './smoke.js';

type Decision = { mode: RunMode | 'teardown' } | { mode: 'skip'; why: string };

/** What `mode: auto` does for this event. */
export function decideMode(mode: ActionMode, event: RunEvent, deployBranches: string[]): Decision {
  if (mode !== 'auto') return { mode };
  if (event.pull) {
    if (event.action === 'closed') return { mode: 'teardown' };
    if (['opened', 'reopened', 'synchronize', 'synchronized', 'ready_for_review'].includes(event.action ?? '')) return { mode: 'preview' };
    return { mode: 'skip', why: `pull_request "${event.action}" needs no preview work` };
  }
  if (event.name === 'push' && event.branch) {
    const branches = deployBranches.length ? deployBranches : [event.defaultBranch ?? 'main'];
    return { mode: branches.includes(event.branch) ? 'deploy' : 'build' };
  }
  return { mode: 'skip', why: `the ${event.name} event has nothing to preview; set mode explicitly` };
}

/** The action: reads inputs and the event, runs the pipeline, reports to the forge. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await runAction(env);
  } catch (err) {
    core.setOutput('status', 'failed');
    core.setFailed(redact(err instanceof Error ? err.message : String(err)));
  }
}

/** One run of the action, as a list of steps. */
export async function runAction(env: NodeJS.ProcessEnv): Promise<void> {
  const given = await readRun(env);
  const plan = decide(given, env);
  if (plan.mode === 'skip') return report(skipped(plan.why, plan.notice), env);
  const outcome = plan.mode === 'teardown' ? await teardown(plan) : await preview(plan);
  await report(outcome, env);
}

interface GivenRun {
  env: NodeJS.ProcessEnv;
  inputs: ActionInputs;
  event: RunEvent;
  decision: Decision;
}

/** Reads the inputs and the event; registers every secret before anything is logged. */
async function readRun(env: NodeJS.ProcessEnv): Promise<GivenRun> {
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const inputs = await readInputs(env, workspace);
  // Every platform's own key variable too, for keys given through the workflow's `env:`.
  for (const secret of [inputs.apiKey, inputs.githubToken, ...Object.values(PLATFORM_KEY_VARIABLES).map((name) => env[name])]) if (secret) core.setSecret(secret);
  const event = readRunEvent(env);
  return { env, inputs, event, decision: decideMode(inputs.mode, event, inputs.deployBranches) };
}

interface RunPlan extends GivenRun {
  mode: RunMode | 'teardown';
  platform: Platform;
  forge?: Forge;
  pr?: PullRef;
  repo?: SourceRepo;
  /** Empty unless the run previews or closes one. */
  labels?: PreviewLabels;
  reporter: ReturnType<typeof actionReporter>;
}

type Plan = RunPlan | { mode: 'skip'; why: string; notice?: boolean };

/** What this run does, and with which platform and forge; bad input fails here, before any request. */
function decide({ inputs, event, decision }: GivenRun, env: NodeJS.ProcessEnv): Plan {
  // A close tears down even when the manifests are gone (the PR may have deleted its agents).
  if (inputs.manifestsError && decision.mode !== 'teardown' && decision.mode !== 'skip') throw inputs.manifestsError;
  if (decision.mode === 'skip') return decision;

  // Only the chosen platform's variable: another platform's key must never be sent to this one.
  const keyVariable = PLATFORM_KEY_VARIABLES[inputs.platform];
  const apiKey = inputs.apiKey ?? (env[keyVariable]?.trim() || undefined);
  if (event.pull?.fork && decision.mode !== 'teardown' && (!apiKey || event.name === 'pull_request_target')) {
    // Secrets are withheld from fork PRs; under pull_request_target they are not, and fork code must
    // never be built with them.
    return {
      mode: 'skip',
      notice: true,
      why: `pull request #${event.pull.number} comes from a fork (${event.pull.headRepo ?? 'another repository'}); no preview is built for fork code with this repository's credentials.`,
    };
  }
  if (!apiKey && inputs.platform !== 'local') {
    throw new InputError(`no platform API key: set the api-key input (e.g. \${{ secrets.${keyVariable} }}) or ${keyVariable}`, { field: 'api-key' });
  }
  const repo = event.sourceRepo;
  const previewing = decision.mode === 'preview' || decision.mode === 'teardown';
  const labels = previewing
    ? resolvePreviewLabel(
        inputs.labelTemplate,
        { number: event.pull?.number, branch: event.branch, sha: event.pull?.headSha ?? event.sha },
        'preview-label',
        labelRuleFor(inputs.platform),
        repo,
      )
    : undefined;
  if (labels?.note) core.notice(labels.note);
  return {
    env,
    inputs,
    event,
    decision,
    mode: decision.mode,
    platform: platformOf(inputs, apiKey, env),
    forge: inputs.githubToken ? forgeOf(inputs.githubToken, event, env) : undefined,
    pr: event.pull ? { ...event.repo, number: event.pull.number } : undefined,
    repo,
    labels,
    reporter: actionReporter(),
  };
}

function platformOf(inputs: ActionInputs, apiKey: string | undefined, env: NodeJS.ProcessEnv): Platform {
  return createPlatform({
    platform: inputs.platform,
    apiUrl: inputs.apiUrl,
    apiKey,
    accountId: inputs.accountId,
    agentexUrl: inputs.agentexUrl,
    env,
    // The reason can carry the server's words.
    onRetry: (notice) => printUntrusted([`${notice.call}: ${notice.reason}; retrying in ${formatDuration(notice.delayMs)} (${notice.attempt}/${notice.of})`]),
    // An annotation: @actions/core escapes its data, so it cannot start a workflow command.
    onNotice: (message) => core.warning(redact(message)),
  });
}

function forgeOf(token: string, event: RunEvent, env: NodeJS.ProcessEnv): Forge {
  return createForge({
    kind: event.forge,
    apiUrl: event.apiUrl,
    token,
    writeSpacing: writeSpacingFromEnv(env),
    // The reason can carry the forge's words.
    onRetry: (notice) => printUntrusted([`${notice.call}: ${notice.reason}; retrying in ${notice.retryAfter} s (${notice.attempt})`]),
    octokit: getOctokit,
  });
}

/** What a run ends with: its outputs, its job summary, and the failure that fails the step. */
interface RunOutcome {
  status: string;
  label: string;
  results?: AgentResult[];
  mode?: RunMode;
  /** The conversations held with the previews. */
  smoke?: SmokeOutcome;
  summary?: string;
  failure?: Error;
}

function skipped(why: string, notice?: boolean): RunOutcome {
  if (notice) core.notice(`agent-preview: ${why}`);
  else core.info(`agent-preview: skipping: ${why}`);
  return { status: 'skipped', label: '' };
}

/** A closed PR: remove this repository's previews of it, then tell the forge the truth about it. */
async function teardown(plan: RunPlan): Promise<RunOutcome> {
  const { inputs, event, platform, forge, pr, repo, reporter } = plan;
  const labels = plan.labels!;
  const outcome = await closePreviews(
    {
      platform,
      labels,
      repo,
      // Under a {sha} template, every push's preview is found by listing our own agents' previews.
      knownAgents: await agentNamesOf(inputs.manifests),
      reporter,
    },
    forge && pr
      ? {
          forge,
          repoRef: event.repo,
          pullNumber: pr.number,
          headSha: event.pull?.headSha ?? event.sha,
          comment: inputs.comment,
          commentKey: inputs.commentKey,
          statuses: inputs.deployments,
        }
      : undefined,
  );
  reporter.flush();
  // Ids and errors are the platform's words.
  printUntrusted([`agent-preview: ${describeClose(outcome)}`]);
  const heading = `### Agent preview \`${labels.label}\`\n\n`;
  if (outcome.stillRunning.length) {
    // Never claim the preview is gone while any of it runs.
    core.warning(
      `agent-preview: ${outcome.stillRunning.length} preview(s) of "${labels.label}" are still running: ${outcome.stillRunning.map((item) => `${item.id} (${item.agent ?? 'agent'}): ${item.why}`).join('; ')}. ` +
        `Remove one with \`agent-preview --platform ${platform.name} teardown --label <label> --agent <name>\` if it is this repository's.`,
    );
  }
  const summary =
    outcome.status === 'removed'
      ? `${heading}Preview removed (${outcome.deleted.length} deleted, ${outcome.alreadyGone.length} already gone).\n`
      : `${heading}${outcome.stillRunning.length} preview(s) still running: ${outcome.stillRunning.map((item) => `${item.id} (${item.why})`).join('; ')} (${outcome.deleted.length} deleted).\n`;
  const failure = outcome.failed.length ? new Error(`could not delete ${outcome.failed.map((f) => f.deployment.id).join(', ')}: ${outcome.failed[0].error}`) : undefined;
  return { status: outcome.status, label: labels.label, summary, failure };
}

/** A push or an opened PR: build and deploy each agent, talk to the previews, then comment and set the statuses. */
async function preview(plan: RunPlan): Promise<RunOutcome> {
  const prepared = await preparePreview(plan);
  if ('stop' in prepared) return prepared.stop;
  const deployed = await deployPreviews(plan, prepared);
  if ('stop' in deployed) return deployed.stop;
  const { results } = deployed;
  const smoke = await holdConversations(smokeRun(plan, prepared.headSha), prepared.agents, results);
  const notes = previewNotes(plan, results);
  await commentOnPull(plan, results, notes, prepared.headSha, smoke);
  return previewOutcome(plan, results, notes, prepared.headSha, smoke);
}

/** The agents, checked before anything is sent; stops when the PR is closed or has moved on. */
async function preparePreview(plan: RunPlan): Promise<PreparedPreview | { stop: RunOutcome }> {
  const { inputs, event, platform, forge, pr } = plan;
  const label = plan.labels?.label ?? '';
  const image = validateImageInput(inputs.image, { name: platform.name, serverBuild: Boolean(platform.builder) });
  const agents = await loadAgents(inputs.manifests, {
    environment: inputs.environment,
    requireEnvironment: plan.mode !== 'build',
    sdkExact: inputs.sdkExact,
    smoke: inputs.smoke !== 'off' && plan.mode === 'preview',
  });
  const headSha = event.pull?.headSha ?? event.sha;
  if (!forge || !pr) return { agents, headSha, image };
  const current = await forge.getPullRequest(pr);
  if (current.state !== 'open') {
    core.notice(`agent-preview: PR #${pr.number} is closed; this run for ${headSha.slice(0, 7)} stops without deploying.`);
    return { stop: { status: 'closed', label } };
  }
  if (current.headSha !== headSha) {
    core.notice(`agent-preview: a newer commit was pushed to PR #${pr.number}; this run for ${headSha.slice(0, 7)} stops without deploying.`);
    return { stop: { status: 'superseded', label } };
  }
  return { agents, headSha, image };
}

interface PreparedPreview {
  agents: LoadedAgent[];
  headSha: string;
  image: ReturnType<typeof validateImageInput>;
}

/** Builds and deploys every agent, with a deployment status before and after; a newer commit cancels it. */
async function deployPreviews(plan: RunPlan, { agents, headSha, image }: PreparedPreview): Promise<{ results: AgentResult[] } | { stop: RunOutcome }> {
  const { inputs, event, platform, forge, pr, reporter } = plan;
  const mode = plan.mode as RunMode;
  const label = plan.labels?.label ?? '';
  const controller = new AbortController();
  const watcher = forge && pr ? watchForNewerHead(forge, pr, headSha, inputs, controller) : undefined;
  const setStatus = deploymentStatusSetter(plan, agents.length, headSha);
  for (const agent of agents) await setStatus(agent.manifest.agent.name, 'in_progress', undefined, 'building the preview');
  let results: AgentResult[];
  try {
    results = await runAgents(platform, agents, {
      mode,
      reporter,
      signal: controller.signal,
      pollIntervalMs: inputs.pollIntervalMs,
      timeoutMs: inputs.timeoutMs,
      preview: mode === 'preview' ? { label, ttlMs: inputs.ttlMs } : undefined,
      wait: inputs.wait,
      urlTemplate: inputs.previewUrl,
      urlVariables: { number: event.pull?.number, sha: headSha },
      buildArgs: inputs.buildArgs,
      buildPlatform: inputs.buildPlatform,
      image,
      maxParallel: inputs.maxParallel,
      redeploy: inputs.redeploy,
      reuse: inputs.onlyChanged,
      provenance: { commit: headSha, ref: event.ref, repo: plan.repo ? formatSourceRepo(plan.repo) : undefined },
      stillWanted: forge && pr && mode === 'preview' ? () => pullRequestWants(forge, pr, headSha) : undefined,
    });
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    core.notice(`agent-preview: a newer commit was pushed to PR #${pr?.number}; this run cancelled its work and stops without deploying.`);
    return { stop: { status: 'superseded', label } };
  } finally {
    watcher?.stop();
    reporter.flush();
  }
  for (const result of results) {
    if (result.status === 'closed' || result.status === 'superseded') continue;
    await setStatus(result.agent, result.status === 'failed' ? 'failure' : 'success', result.url, result.status === 'failed' ? `${result.failedPhase} failed` : 'preview ready');
  }
  return { results };
}

function deploymentStatusSetter(plan: RunPlan, agentCount: number, headSha: string) {
  const { inputs, event, forge } = plan;
  const label = plan.labels?.label ?? '';
  return async (agent: string, state: 'in_progress' | 'success' | 'failure', url?: string, description = '') => {
    if (!forge || !inputs.deployments || plan.mode !== 'preview') return;
    await forge
      .setPreviewStatus(event.repo, { state, environment: environmentName(label, agent, agentCount), sha: headSha, url, logUrl: event.runUrl, description })
      .catch((err) => core.warning(`could not set the deployment status: ${redact((err as Error).message)}`));
  };
}

/** What the smoke conversations need to know of this run. */
function smokeRun(plan: RunPlan, headSha: string): SmokeRun {
  const { inputs, event, platform, forge, pr, repo } = plan;
  return {
    mode: plan.mode === 'preview' ? inputs.smoke : 'off',
    message: inputs.smokeScript,
    platform,
    forge,
    pr,
    repoRef: event.repo,
    repo,
    headSha,
    label: plan.labels?.label ?? '',
    commentKey: inputs.commentKey,
    runUrl: event.runUrl,
    maxParallel: inputs.maxParallel,
    readyTimeoutMs: inputs.timeoutMs,
    pollIntervalMs: inputs.pollIntervalMs,
    reportDir: plan.env.RUNNER_TEMP || tmpdir(),
    chat: { apiUrl: inputs.apiUrl, agentexUrl: inputs.agentexUrl },
  };
}

/** What the comment and the summary say besides the table: previews without a link, previews not kept. */
function previewNotes(plan: RunPlan, results: AgentResult[]): string[] {
  const { inputs, platform } = plan;
  const unwanted = results.filter((result) => result.status === 'closed' || result.status === 'superseded');
  // The run's own words, which name any deployment still running.
  if (unwanted.length) printUntrusted(unwanted.map((result) => `agent-preview: ${result.error}`));
  const notes = platform.capabilities.deploymentUrl || inputs.previewUrl ? [] : unlinkedPreviewNotes(platform.name, results);
  if (platform.capabilities.deploymentUrl && !inputs.previewUrl) {
    // The platform usually gives a URL; say so when this deployment gave none we can show.
    for (const result of results.filter((r) => (r.status === 'healthy' || r.status === 'unchanged') && !r.url)) {
      notes.push(`${result.agent}: the deployment is healthy but gave no public URL (a URL carrying a credential is never shown); set the preview-url input to link it.`);
    }
  }
  for (const result of unwanted) notes.push(result.error ?? `${result.agent}: not kept (${result.status})`);
  return notes;
}

/** The sticky comment; a closed PR's comment belongs to the close, and a newer commit's run writes its own. */
async function commentOnPull(plan: RunPlan, results: AgentResult[], notes: string[], headSha: string, smoke: SmokeOutcome): Promise<void> {
  const { inputs, event, platform, forge, pr } = plan;
  const unwanted = results.filter((result) => result.status === 'closed' || result.status === 'superseded');
  if (!forge || !pr || !inputs.comment || plan.mode !== 'preview' || unwanted.length === results.length) return;
  const body = renderPreviewComment(results, {
    platform: platform.name,
    label: plan.labels?.label ?? '',
    headSha,
    updatedAt: new Date().toISOString(),
    runUrl: event.runUrl,
    notes,
    commentKey: inputs.commentKey,
    smoke: smoke.section,
  });
  const sticky = await upsertStickyComment(forge, pr, body, { headSha, key: inputs.commentKey });
  if (sticky.action === 'skipped-newer-head') core.info('agent-preview: a newer commit owns the PR comment now; left it alone');
}

/** The run's status, summary and failure: a failed agent, a preview left running nobody wants, or a failed conversation. */
function previewOutcome(plan: RunPlan, results: AgentResult[], notes: string[], headSha: string, smoke: SmokeOutcome): RunOutcome {
  const label = plan.labels?.label ?? '';
  const failed = results.filter((result) => result.status === 'failed');
  // Build logs, runtime logs and deploy events: the platform's and the PR code's words.
  for (const result of failed) printUntrusted((result.logTail ?? []).map((line) => `  ${result.agent} │ ${line}`));
  // A preview nobody wants that could not be removed is a failure the user must act on (its id is named).
  failed.push(...results.filter((result) => (result.status === 'closed' || result.status === 'superseded') && result.leftRunning));
  return {
    status: failed.length ? 'failed' : (results[0]?.status ?? 'skipped'),
    label,
    results,
    mode: plan.mode as RunMode,
    smoke,
    summary: renderPreviewComment(results, { platform: plan.platform.name, label, headSha, updatedAt: new Date().toISOString(), notes, smoke: smoke.section }),
    failure: failed.length ? new Error(failed.map((result) => result.error).join('; ')) : undefined,
  };
}

/** Outputs, the job summary, and the step's failure. */
async function report(outcome: RunOutcome, env: NodeJS.ProcessEnv): Promise<void> {
  if (outcome.results && outcome.mode) setOutputs(outcome.results, outcome.label, outcome.mode);
  else core.setOutput('preview-label', outcome.label);
  core.setOutput('status', outcome.status);
  core.setOutput('smoke', outcome.smoke?.verdict ?? 'skipped');
  core.setOutput('smoke-report', outcome.smoke?.reportPath ?? '');
  if (outcome.summary) await writeSummary(outcome.summary, env);
  const smokeFailure = outcome.smoke?.failure;
  if (outcome.failure) throw smokeFailure ? new Error(`${outcome.failure.message}; ${smokeFailure}`) : outcome.failure;
  // The previews are what `status` says (healthy); what failed is the conversation, which fails the step.
  if (smokeFailure) core.setFailed(redact(smokeFailure));
}

/**
 * Deployments without a URL (Agentex, and MUTX or Nullspace without a template) leave the reviewer
 * nothing to open, and for Agentex nothing documented can stand in: the SGP docs give no address for
 * a deployment's dashboard page (docs.gp.scale.com/docs/v5/agents/agentex/cloud-build-and-deploy/preview-deployments),
 * and the open-source Agentex server reaches a preview only through
 * POST /agents/{agent_id}/deployments/{deployment_id}/rpc, an RPC call rather than a page
 * (scaleapi/scale-agentex@304f014:agentex/src/api/routes/deployments.py). So the comment says so and
 * names each deployment with the command that shows its status.
 */
function unlinkedPreviewNotes(platformName: string, results: AgentResult[]): string[] {
  const deployed = results.filter((result) => result.deploymentId && ['healthy', 'unchanged', 'deployed'].includes(result.status));
  return [
    `${platformName} deployments carry no URL; set the preview-url input to link previews.`,
    ...deployed.map(
      (result) =>
        `${result.agent}: no link to open. Deployment ${result.deploymentId}; see its status with: npx agent-preview --platform ${platformName} status --id ${result.deploymentId}`,
    ),
  ];
}

function setOutputs(results: AgentResult[], label: string, mode: RunMode): void {
  const first = results[0];
  core.setOutput('preview-label', label);
  core.setOutput('preview-url', first?.url ?? '');
  core.setOutput('deployment-id', first?.deploymentId ?? '');
  core.setOutput('build-id', first?.buildId ?? '');
  core.setOutput('build-reused', String(Boolean(first?.buildReused)));
  core.setOutput(
    'agents',
    JSON.stringify(
      results.map((result) => ({
        agent: result.agent,
        status: result.status,
        'preview-url': result.url ?? '',
        'deployment-id': result.deploymentId ?? '',
        'build-id': result.buildId ?? '',
        'build-reused': Boolean(result.buildReused),
        'preview-label': mode === 'preview' ? label : '',
      })),
    ),
  );
}

async function writeSummary(markdown: string, env: NodeJS.ProcessEnv): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    await appendFile(file, `${redact(markdown)}${EOL}`);
  } catch (err) {
    core.debug(`job summary not written: ${(err as Error).message}`);
  }
}

/** Aborts the run when the PR gets a newer head commit (Gitea ignores workflow concurrency). */
function watchForNewerHead(forge: Forge, pr: PullRef, headSha: string, inputs: ActionInputs, controller: AbortController) {
  const everyMs = Math.max(inputs.pollIntervalMs * 3, 2000);
  const timer = setInterval(() => {
    forge
      .getPullRequest(pr)
      .then((current) => {
        if (current.headSha && current.headSha !== headSha) controller.abort(new Error('superseded by a newer commit'));
      })
      .catch(() => {});
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Is the PR still open at this run's commit? When the forge cannot say, the run goes on (the close and the sweep remain). */
async function pullRequestWants(forge: Forge, pr: PullRef, headSha: string): Promise<'open' | 'closed' | 'superseded'> {
  try {
    const current = await forge.getPullRequest(pr);
    if (current.state !== 'open') return 'closed';
    return current.headSha && current.headSha !== headSha ? 'superseded' : 'open';
  } catch (err) {
    core.warning(`agent-preview: could not read PR #${pr.number} to check it is still open at ${headSha.slice(0, 7)}: ${redact((err as Error).message)}`);
    return 'open';
  }
}

/** The agent names this repository's manifests declare, or undefined when they cannot be read (a closed PR may have removed them). */
async function agentNamesOf(manifests: string[]): Promise<string[] | undefined> {
  try {
    const agents = await loadAgents(manifests, { requireEnvironment: false });
    return agents.length ? agents.map((agent) => agent.manifest.agent.name) : undefined;
  } catch {
    return undefined;
  }
}
