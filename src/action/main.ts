import * as core from '@actions/core';
import { InputError } from '../errors.js';
import { renderPreviewComment, renderRemovedComment } from '../forge/comment.js';
import type { Forge, PullRef } from '../forge/forge.js';
import { createForge } from '../forge/client.js';
import { upsertStickyComment } from '../forge/sticky.js';
import { loadAgents } from '../pipeline/agent.js';
import { formatDuration } from '../pipeline/duration.js';
import { resolvePreviewLabel } from '../pipeline/label.js';
import { runAgents, type AgentResult, type RunMode } from '../pipeline/run.js';
import { parseSourceRepo } from '../pipeline/source-repo.js';
import { teardownPreviews } from '../previews/teardown.js';
import { createPlatform, labelRuleFor, PLATFORM_KEY_VARIABLES } from '../platforms/index.js';
import { validateImageInput } from '../pipeline/image.js';
import { redact } from '../secrets/redact.js';
import { readRunEvent, type RunEvent } from './event.js';
import { readInputs, type ActionInputs, type ActionMode } from './inputs.js';
import { actionReporter, printUntrusted } from './reporter.js';

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

async function runAction(env: NodeJS.ProcessEnv): Promise<void> {
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const inputs = await readInputs(env, workspace);
  // Every platform's own key variable too, for keys given through the workflow's `env:`.
  for (const secret of [inputs.apiKey, inputs.githubToken, ...Object.values(PLATFORM_KEY_VARIABLES).map((name) => env[name])]) if (secret) core.setSecret(secret);
  const event = await readRunEvent(env);
  const decision = decideMode(inputs.mode, event, inputs.deployBranches);
  // A close tears down even when the manifests are gone (the PR may have deleted its agents).
  if (inputs.manifestsError && decision.mode !== 'teardown' && decision.mode !== 'skip') throw inputs.manifestsError;
  if (decision.mode === 'skip') {
    core.info(`agent-preview: skipping: ${decision.why}`);
    core.setOutput('status', 'skipped');
    return;
  }

  // Only the chosen platform's variable: another platform's key must never be sent to this one.
  const keyVariable = PLATFORM_KEY_VARIABLES[inputs.platform];
  const apiKey = inputs.apiKey ?? (env[keyVariable]?.trim() || undefined);
  if (event.pull?.fork && decision.mode !== 'teardown' && (!apiKey || event.name === 'pull_request_target')) {
    // Secrets are withheld from fork PRs; under pull_request_target they are not, and fork code must
    // never be built with them.
    core.notice(
      `agent-preview: pull request #${event.pull.number} comes from a fork (${event.pull.headRepo ?? 'another repository'}); no preview is built for fork code with this repository's credentials.`,
    );
    core.setOutput('status', 'skipped');
    return;
  }
  if (!apiKey && inputs.platform !== 'local') {
    throw new InputError(`no platform API key: set the api-key input (e.g. \${{ secrets.${keyVariable} }}) or ${keyVariable}`, { field: 'api-key' });
  }

  const reporter = actionReporter();
  const forge: Forge | undefined = inputs.githubToken ? createForge({ kind: event.forge, apiUrl: event.apiUrl, token: inputs.githubToken, onRetry: (notice) => core.info(`${notice.call}: ${notice.reason}; retrying in ${notice.retryAfter} s (${notice.attempt})`) }) : undefined;
  const pr: PullRef | undefined = event.pull ? { ...event.repo, number: event.pull.number } : undefined;
  const previewing = decision.mode === 'preview' || decision.mode === 'teardown';
  const { label, note } = previewing
    ? resolvePreviewLabel(inputs.labelTemplate, { number: event.pull?.number, branch: event.branch, sha: event.sha }, 'preview-label', labelRuleFor(inputs.platform))
    : { label: '', note: undefined };
  if (note) core.notice(note);
  core.setOutput('preview-label', label);

  const platform = createPlatform({
    platform: inputs.platform,
    apiUrl: inputs.apiUrl,
    apiKey,
    accountId: inputs.accountId,
    env,
    // The reason can carry the server's words.
    onRetry: (notice) => printUntrusted([`${notice.call}: ${notice.reason}; retrying in ${formatDuration(notice.delayMs)} (${notice.attempt}/${notice.of})`]),
    // An annotation: @actions/core escapes its data, so it cannot start a workflow command.
    onNotice: (message) => core.warning(redact(message)),
  });

  const sourceRepo = `${event.serverUrl.replace(/^https?:\/\//, '')}/${event.repo.owner}/${event.repo.repo}`;
  if (decision.mode === 'teardown') {
    // Only this repository's previews: the label repeats in every repository on the account. A
    // preview whose origin is recorded nowhere is still ours when it is one of our own agents.
    const ownAgents = await agentNamesOf(inputs.manifests);
    const outcome = await teardownPreviews(platform, {
      label,
      reporter,
      repo: parseSourceRepo(sourceRepo),
      adoptUnproven: ownAgents,
    });
    reporter.flush();
    const others = outcome.otherRepos ? `; ${outcome.otherRepos} of other repositories left alone` : '';
    printUntrusted([`agent-preview: previews of "${label}": ${outcome.deleted.length} deleted, ${outcome.alreadyGone.length} already gone${others}`]);
    const agents = outcome.agents;
    const kept = outcome.withoutProvenance;
    if (kept.length) {
      // Nothing proves these are ours, so they were left running: never claim the preview is gone.
      core.warning(
        `agent-preview: ${kept.length} preview(s) of "${label}" are still running: ${kept.map((d) => `${d.id} (${d.agentName ?? 'agent'})`).join(', ')}. ` +
          `${platform.name} records no repository on them and this checkout's manifests do not name their agents; ` +
          `remove them with \`agent-preview --platform ${platform.name} teardown --label ${label} --agent <name>\` if they are this repository's.`,
      );
    }
    if (forge && pr && !kept.length) {
      if (inputs.comment) {
        await upsertStickyComment(forge, pr, renderRemovedComment({ label, platform: platform.name, updatedAt: new Date().toISOString(), agents, commentKey: inputs.commentKey }), { key: inputs.commentKey });
      }
      if (inputs.deployments) {
        // The environment was `preview/<label>` for a single agent and per agent in a monorepo.
        for (const environment of [`preview/${label}`, ...agents.map((agent) => environmentName(label, agent, 2))]) {
          await forge.deactivateEnvironment(event.repo, environment).catch((err) => core.warning(redact(String(err))));
        }
      }
    }
    if (outcome.failed.length) throw new Error(`could not delete ${outcome.failed.map((f) => f.deployment.id).join(', ')}: ${outcome.failed[0].error}`);
    if (kept.length) {
      core.setOutput('status', 'kept');
      await writeSummary(`### Agent preview \`${label}\`\n\n${kept.length} preview(s) left running: nothing records which repository deployed them (${outcome.deleted.length} deleted).\n`);
      return;
    }
    core.setOutput('status', 'removed');
    await writeSummary(`### Agent preview \`${label}\`\n\nPreview removed (${outcome.deleted.length} deleted, ${outcome.alreadyGone.length} already gone).\n`);
    return;
  }

  const image = validateImageInput(inputs.image, { name: platform.name, serverBuild: Boolean(platform.builder) });
  const agents = await loadAgents(inputs.manifests, { environment: inputs.environment, requireEnvironment: decision.mode !== 'build', sdkExact: inputs.sdkExact });
  const headSha = event.pull?.headSha ?? event.sha;
  if (forge && pr && (await forge.getPullRequest(pr)).headSha !== headSha) {
    core.notice(`agent-preview: a newer commit was pushed to PR #${pr.number}; this run for ${headSha.slice(0, 7)} stops without deploying.`);
    core.setOutput('status', 'superseded');
    return;
  }

  const controller = new AbortController();
  const watcher = forge && pr ? watchForNewerHead(forge, pr, headSha, inputs, controller) : undefined;
  const setStatus = async (agent: string, state: 'in_progress' | 'success' | 'failure', url?: string, description = '') => {
    if (!forge || !inputs.deployments || decision.mode !== 'preview') return;
    await forge
      .setPreviewStatus(event.repo, { state, environment: environmentName(label, agent, agents.length), sha: headSha, url, logUrl: event.runUrl, description })
      .catch((err) => core.warning(`could not set the deployment status: ${redact((err as Error).message)}`));
  };
  for (const agent of agents) await setStatus(agent.manifest.agent.name, 'in_progress', undefined, 'building the preview');

  let results: AgentResult[];
  try {
    results = await runAgents(platform, agents, {
      mode: decision.mode,
      reporter,
      signal: controller.signal,
      pollIntervalMs: inputs.pollIntervalMs,
      timeoutMs: inputs.timeoutMs,
      preview: decision.mode === 'preview' ? { label, ttlMs: inputs.ttlMs } : undefined,
      wait: inputs.wait,
      urlTemplate: inputs.previewUrl,
      urlVariables: { number: event.pull?.number, sha: headSha },
      buildArgs: inputs.buildArgs,
      buildPlatform: inputs.buildPlatform,
      image,
      maxParallel: inputs.maxParallel,
      redeploy: inputs.redeploy,
      reuse: inputs.onlyChanged,
      provenance: { commit: headSha, ref: event.ref, repo: sourceRepo },
    });
  } catch (err) {
    if (controller.signal.aborted) {
      core.notice(`agent-preview: a newer commit was pushed to PR #${pr?.number}; this run cancelled its work and stops without deploying.`);
      core.setOutput('status', 'superseded');
      return;
    }
    throw err;
  } finally {
    watcher?.stop();
    reporter.flush();
  }

  for (const result of results) {
    await setStatus(result.agent, result.status === 'failed' ? 'failure' : 'success', result.url, result.status === 'failed' ? `${result.failedPhase} failed` : 'preview ready');
  }
  const notes = platform.capabilities.deploymentUrl || inputs.previewUrl ? [] : unlinkedPreviewNotes(platform.name, results);
  if (platform.capabilities.deploymentUrl && !inputs.previewUrl) {
    // The platform usually gives a URL; say so when this deployment gave none we can show.
    for (const result of results.filter((r) => (r.status === 'healthy' || r.status === 'unchanged') && !r.url)) {
      notes.push(`${result.agent}: the deployment is healthy but gave no public URL (a URL carrying a credential is never shown); set the preview-url input to link it.`);
    }
  }
  if (forge && pr && inputs.comment && decision.mode === 'preview') {
    const body = renderPreviewComment(results, { platform: platform.name, label, headSha, updatedAt: new Date().toISOString(), runUrl: event.runUrl, notes, commentKey: inputs.commentKey });
    const sticky = await upsertStickyComment(forge, pr, body, { headSha, key: inputs.commentKey });
    if (sticky.action === 'skipped-newer-head') core.info('agent-preview: a newer commit owns the PR comment now; left it alone');
  }
  setOutputs(results, label, decision.mode);
  await writeSummary(renderPreviewComment(results, { platform: platform.name, label, headSha, updatedAt: new Date().toISOString(), notes }));
  const failed = results.filter((result) => result.status === 'failed');
  if (failed.length) {
    // Build logs, runtime logs and deploy events: the platform's and the PR code's words.
    for (const result of failed) printUntrusted((result.logTail ?? []).map((line) => `  ${result.agent} │ ${line}`));
    throw new Error(failed.map((result) => result.error).join('; '));
  }
}

/** `preview/pr-12` for a single agent; `preview/pr-12/<agent>` for each agent of a monorepo. */
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
  const deployed = results.filter((result) => result.deploymentId && result.status !== 'failed');
  return [
    `${platformName} deployments carry no URL; set the preview-url input to link previews.`,
    ...deployed.map((result) => `${result.agent}: no link to open. Deployment ${result.deploymentId}; see its status with: npx agent-preview --platform ${platformName} status --id ${result.deploymentId}`),
  ];
}

function environmentName(label: string, agent: string, agentCount: number): string {
  return agentCount > 1 ? `preview/${label}/${agent}` : `preview/${label}`;
}

function setOutputs(results: AgentResult[], label: string, mode: RunMode): void {
  const first = results[0];
  core.setOutput('preview-url', first?.url ?? '');
  core.setOutput('deployment-id', first?.deploymentId ?? '');
  core.setOutput('build-id', first?.buildId ?? '');
  core.setOutput('build-reused', String(Boolean(first?.buildReused)));
  core.setOutput('status', results.some((result) => result.status === 'failed') ? 'failed' : (first?.status ?? 'skipped'));
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

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(redact(markdown)).addEOL().write();
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

/** The agent names this repository's manifests declare, or undefined when they cannot be read (a closed PR may have removed them). */
async function agentNamesOf(manifests: string[]): Promise<string[] | undefined> {
  try {
    const agents = await loadAgents(manifests, { requireEnvironment: false });
    return agents.length ? agents.map((agent) => agent.manifest.agent.name) : undefined;
  } catch {
    return undefined;
  }
}
