/**
 * `/preview extend <duration>` and `/preview redeploy [agent]`: a live preview deployed again,
 * through the pipeline's own deploy (`deployAgent`, the step the action's run ends with): a new
 * deployment of the same build with the manifest and environments the live preview was deployed
 * with, waited on until healthy, and then the older preview of the label removed (only previews
 * whose records name this repository, as after every deploy).
 *
 * What the app deploys, and why: the build the live preview runs and what the platform recorded it
 * was deployed with (`Deployment.deployedWith`). The app holds no checkout; fetching and packing
 * the source again would also need the action's inputs (environment, build arguments, ttl, URL
 * template), which live in the workflow, not in the repository's config, so it would not deploy
 * what the action deployed. The build's recorded commit (`source_commit`) says which commit that
 * is: `redeploy` deploys only a build made for the pull request's head as pinned when the command
 * started, and otherwise says which commit the preview runs and that the action must deploy the
 * head first. (After a push that did not change an agent, the action reuses the earlier build,
 * which records the earlier commit: `redeploy` then asks for the action too; it cannot prove
 * without the source that the head's files are the same.)
 *
 * Agentex has no update of a deployment's `expires_at` (`POST /v5/agentex/deployments` is the only
 * call that sets it, /work/shared/PLATFORMS.md): `extend` is a redeploy with the new expiry, the
 * expiry then read back from the platform. A platform that does not expire previews says so.
 */
import { formatDuration } from '../duration.js';
import { deployAgent, UnwantedPreviewError, type PreviewWanted } from '../pipeline/deploy.js';
import { formatSourceRepo } from '../pipeline/source-repo.js';
import type { Deployment } from '../platforms/platform.js';
import { redact } from '../secrets/redact.js';
import { logReporter, type CommandResult, type CommandRun } from './context.js';
import { deployableOf, lifetimeOf, ownLivePreviews } from './previews.js';
import { escapeCell } from '../forge/comment.js';
import { plain, shortSha } from './reply.js';

type AgentLine = { ok: boolean; line: string };

export async function extendCommand(run: CommandRun, durationMs: number): Promise<CommandResult> {
  const { platform } = run;
  if (!platform.capabilities.previewExpiry) {
    return {
      ok: false,
      body: `😕 ${plain(`${platform.name} does not expire previews: they run until the pull request closes (or the sweep removes them), so there is nothing to extend.`)}`,
    };
  }
  const { previews } = await ownLivePreviews(platform, run.labels, run.access.repo, run.signal);
  if (!previews.length) return { ok: false, body: `😕 ${plain('this pull request has no live preview of this repository to extend.')}` };
  const lines: AgentLine[] = [];
  for (const preview of previews) lines.push(await extendOne(run, preview, durationMs));
  return summary(lines, `⏳ Extended by ${formatDuration(durationMs)}`);
}

async function extendOne(run: CommandRun, preview: Deployment, durationMs: number): Promise<AgentLine> {
  const was = preview.expiresAt ? Date.parse(preview.expiresAt) : Number.NaN;
  // From the current expiry, or from now when it has none (or is past): never shorter than it was.
  const expiresAt = Math.max(Number.isFinite(was) ? was : 0, Date.now()) + durationMs;
  const outcome = await deployAgain(run, preview, expiresAt - Date.now(), () => pullStillOpen(run));
  if (!outcome.ok) return outcome;
  const reported = outcome.deployment.expiresAt;
  const previous = Number.isFinite(was) ? ` (was ${when(preview.expiresAt!)})` : '';
  return {
    ok: Boolean(reported),
    line: `**${escapeCell(preview.agentName ?? 'agent')}**: ${reported ? `${platformName(run)} reports it expires at ${when(reported)}${previous}` : `${platformName(run)} reports no expiry for it`}; ${outcome.line}`,
  };
}

export async function redeployCommand(run: CommandRun, agent: string | undefined): Promise<CommandResult> {
  const { previews } = await ownLivePreviews(run.platform, run.labels, run.access.repo, run.signal);
  const chosen = agent ? previews.filter((preview) => preview.agentName === agent) : previews;
  if (!chosen.length) {
    const which = agent ? ` of ${agent}` : '';
    const others = agent && previews.length ? ` (it has previews of ${previews.map((preview) => preview.agentName).join(', ')})` : '';
    return { ok: false, body: `😕 ${plain(`this pull request has no live preview${which} of this repository to redeploy${others}; the action deploys one on the next push.`)}` };
  }
  const lines: AgentLine[] = [];
  for (const preview of chosen) lines.push(await redeployOne(run, preview));
  return summary(lines, `🔁 Redeployed ${shortSha(run.pull.headSha)}`);
}

async function redeployOne(run: CommandRun, preview: Deployment): Promise<AgentLine> {
  const head = run.pull.headSha;
  if (!deployableOf(preview) || !preview.buildId) return { ok: false, line: `**${escapeCell(preview.agentName ?? 'agent')}**: ${cannotDeployAgain(run, preview)}` };
  const build = preview.buildId ? await run.platform.builder?.getBuild(preview.buildId, { signal: run.signal }).catch(() => undefined) : undefined;
  if (!build?.sourceCommit || build.sourceCommit.toLowerCase() !== head.toLowerCase()) {
    const runs = build?.sourceCommit ? `runs a build of ${shortSha(build.sourceCommit)}` : `runs a build that records no commit`;
    return {
      ok: false,
      line: `**${escapeCell(preview.agentName ?? 'agent')}**: not redeployed. Preview ${codeOf(preview.id)} ${runs}, but the pull request's head is ${shortSha(head)}: deploying it would deploy an older commit. Let the action deploy ${shortSha(head)} first (push, or re-run its workflow), then ask again.`,
    };
  }
  const outcome = await deployAgain(run, preview, lifetimeOf(preview), () => pullStillAt(run, head));
  return { ok: outcome.ok, line: `**${escapeCell(preview.agentName ?? 'agent')}**: ${outcome.line}` };
}

/** The preview deployed again with `ttlMs` to live; the older one is removed once the new one is healthy. */
async function deployAgain(run: CommandRun, preview: Deployment, ttlMs: number, stillWanted: () => Promise<PreviewWanted>): Promise<AgentLine & { deployment: Deployment }> {
  const agent = deployableOf(preview);
  if (!agent || !preview.buildId) return { ok: false, line: cannotDeployAgain(run, preview), deployment: preview };
  const label = preview.previewLabel ?? run.labels.label;
  try {
    const outcome = await deployAgent(
      run.platform,
      agent,
      { buildId: preview.buildId },
      {
        reporter: logReporter(run.log),
        signal: run.signal,
        pollIntervalMs: run.timing.pollIntervalMs,
        timeoutMs: run.timing.deployTimeoutMs,
        preview: { label, ttlMs },
        sourceRepo: formatSourceRepo(run.access.repo),
        stillWanted,
      },
    );
    const fresh = await run.platform.getDeployment(outcome.deployment.id, { signal: run.signal }).catch(() => outcome.deployment);
    const replaced = outcome.replaced.includes(preview.id);
    const old = replaced
      ? `replaces ${codeOf(preview.id)}, which was removed`
      : `runs, but ${codeOf(preview.id)} still runs beside it (it could not be removed: see the app's log)`;
    return { ok: replaced, line: `deployment ${codeOf(fresh.id)} is healthy and ${old}.`, deployment: fresh };
  } catch (err) {
    run.signal.throwIfAborted();
    const why = err instanceof UnwantedPreviewError ? err.message : `the deploy failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, line: `${plain(redact(why))}; preview ${codeOf(preview.id)} is left as it was.`, deployment: preview };
  }
}

/** Platforms that deploy pushed images, or do not return what a deployment was deployed with, give nothing to deploy again. */
function cannotDeployAgain(run: CommandRun, preview: Deployment): string {
  return plain(
    `${run.platform.name} does not say what preview ${preview.id} was deployed with (its build, manifest and environments), so it cannot be deployed again; push to have the action deploy it.`,
  );
}

async function pullStillOpen(run: CommandRun): Promise<PreviewWanted> {
  return (await run.access.pullRequest(run.job.number, run.signal)).state === 'open' ? 'open' : 'closed';
}

/** The pull request is still open and still at the pinned head: a redeploy of an older head serves nobody. */
async function pullStillAt(run: CommandRun, head: string): Promise<PreviewWanted> {
  const now = await run.access.pullRequest(run.job.number, run.signal);
  if (now.state !== 'open') return 'closed';
  return now.headSha === head ? 'open' : 'superseded';
}

function summary(lines: AgentLine[], title: string): CommandResult {
  const ok = lines.every((line) => line.ok);
  const head = ok ? title : lines.some((line) => line.ok) ? `${title}, in part` : '😕 Nothing was deployed';
  return { ok, body: [`${head}:`, '', ...lines.map((line) => `- ${line.line}`)].join('\n') };
}

function when(iso: string): string {
  return `${escapeCell(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} UTC`;
}

function platformName(run: CommandRun): string {
  return run.platform.name;
}

function codeOf(id: string): string {
  return `\`${id.replace(/`/g, '')}\``;
}
