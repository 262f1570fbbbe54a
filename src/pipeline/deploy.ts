import { TimeoutError } from '../errors.js';
import type { Deployment, Platform } from '../platforms/platform.js';
import { GONE_DEPLOY_PHASES, TERMINAL_DEPLOY_PHASES } from '../platforms/platform.js';
import { redact, urlCarriesCredential } from '../secrets/redact.js';
import { formatDuration } from '../duration.js';
import { cachedBuildLookup, ownershipOf } from './ownership.js';
import { PhaseError } from './errors.js';
import { pollUntil } from './poll.js';
import type { StepContext } from './reporter.js';
import { parseSourceRepo } from './source-repo.js';
import { renderUrlTemplate, type UrlVariables } from './url.js';

/**
 * What a deploy sends of an agent: its manifest and environments text, exactly as read. A loaded
 * agent (`LoadedAgent`) is one; so is a live preview's record of what it was deployed with, which
 * the app's `/preview extend` and `/preview redeploy` deploy again (`commands/previews.ts`).
 */
export interface DeployableAgent {
  manifest: { agent: { name: string }; text: string };
  environments?: { text: string };
  environment?: { namespace?: string };
}

export interface DeployOptions extends StepContext {
  /** Absent for a real (non-preview) deploy. */
  preview?: { label: string; ttlMs: number };
  /** Wait until the deployment is healthy (default true). */
  wait?: boolean;
  /** For platforms whose deployments carry no URL. */
  urlTemplate?: string;
  urlVariables?: UrlVariables;
  /** After the new preview is healthy, delete older previews of the same label and agent (default true). */
  replaceOlder?: boolean;
  /** The repository deploying (host/owner/repo): recorded where the platform can, and older previews of other repositories are never replaced. */
  sourceRepo?: string;
  /**
   * Whether the preview is still wanted: asked before the deployment is created and again once it is
   * healthy, before older previews are removed. The action asks its forge (is the PR open, at this
   * run's commit?); the CLI has no forge and passes nothing.
   */
  stillWanted?: () => Promise<PreviewWanted>;
}

/** `closed`: the PR closed. `superseded`: a newer commit is the PR's head. */
export type PreviewWanted = 'open' | 'closed' | 'superseded';

/** The PR closed or moved on while this run deployed: nothing older was touched, and this run's own preview was removed (or is named as still running). */
export class UnwantedPreviewError extends Error {
  constructor(
    readonly wanted: 'closed' | 'superseded',
    message: string,
    readonly deploymentId?: string,
    /** The run's own deployment could not be deleted and still runs. */
    readonly leftRunning = false,
  ) {
    super(message);
    this.name = 'UnwantedPreviewError';
  }
}

export interface DeployOutcome {
  deployment: Deployment;
  url?: string;
  /** Older previews deleted once this one was healthy. */
  replaced: string[];
}

const LOG_TAIL = 40;

/**
 * What is true of a new preview's lifetime: only a platform that enforces an expiry lets it expire;
 * elsewhere it runs until its pull request closes or the sweep removes it.
 */
export function expiryNote(platform: Platform, ttlMs: number): string {
  return platform.capabilities.previewExpiry
    ? `expires in ${formatDuration(ttlMs)}`
    : `${platform.name} does not expire previews: it is removed when the pull request closes, or by the sweep`;
}

/** Deploys a build (or an image) and, unless told not to, waits until it is healthy. */
export async function deployAgent(
  platform: Platform,
  agent: DeployableAgent,
  source: { buildId?: string; image?: { name: string; tag: string } },
  options: DeployOptions,
): Promise<DeployOutcome> {
  const { reporter, signal } = options;
  const name = agent.manifest.agent.name;
  const expiresAt = options.preview ? new Date(Date.now() + options.preview.ttlMs) : undefined;
  const notWanted = options.preview ? await unwantedBecause(options) : undefined;
  if (notWanted) throw new UnwantedPreviewError(notWanted, `${name}: ${notWantedWhy(notWanted)}; no preview was created`);
  reporter.step(name, options.preview ? `creating preview "${options.preview.label}" (${expiryNote(platform, options.preview.ttlMs)})` : 'deploying (not a preview)');
  const created = await platform.createDeployment(
    {
      agentName: name,
      manifestText: agent.manifest.text,
      environmentText: agent.environments?.text ?? '',
      buildId: source.buildId,
      image: source.image,
      preview: options.preview && expiresAt ? { label: options.preview.label, expiresAt } : undefined,
      sourceRepo: options.sourceRepo,
    },
    { signal },
  );
  reporter.step(name, `deployment ${created.id} created`);
  if (options.wait === false) {
    if (options.preview) await noteOlderPreviews(platform, created, name, options);
    return { deployment: created, url: previewUrl(platform, created, agent, options), replaced: [] };
  }

  const healthy = await waitUntilHealthy(platform, created, name, options);
  const lateNotWanted = options.preview ? await unwantedBecause(options) : undefined;
  if (lateNotWanted) throw await removeUnwanted(platform, healthy, name, lateNotWanted);
  const url = previewUrl(platform, healthy, agent, options);
  const replaced = options.preview && options.replaceOlder !== false ? await deleteOlderPreviews(platform, healthy, name, options) : [];
  return { deployment: healthy, url, replaced };
}

async function unwantedBecause(options: DeployOptions): Promise<'closed' | 'superseded' | undefined> {
  if (!options.stillWanted) return undefined;
  const wanted = await options.stillWanted();
  return wanted === 'open' ? undefined : wanted;
}

function notWantedWhy(wanted: 'closed' | 'superseded'): string {
  return wanted === 'closed' ? 'the pull request was closed during this run' : "a newer commit is the pull request's head now";
}

/**
 * A preview that became healthy after its PR closed or moved on serves nobody, and older previews
 * are not this run's to replace: it removes its own deployment instead, and says so only when the
 * platform confirmed it.
 */
async function removeUnwanted(platform: Platform, deployment: Deployment, name: string, wanted: 'closed' | 'superseded'): Promise<UnwantedPreviewError> {
  const why = notWantedWhy(wanted);
  try {
    const result = await platform.deleteDeployment(deployment.id, { signal: AbortSignal.timeout(15_000) });
    const fate = result === 'deleted' ? `removed its own preview deployment ${deployment.id}` : `its preview deployment ${deployment.id} was already gone`;
    return new UnwantedPreviewError(wanted, `${name}: ${why}; ${fate}`, deployment.id);
  } catch (err) {
    return new UnwantedPreviewError(
      wanted,
      `${name}: ${why}; its preview deployment ${deployment.id} is still running: it could not be deleted (${(err as Error).message})`,
      deployment.id,
      true,
    );
  }
}

async function waitUntilHealthy(platform: Platform, created: Deployment, name: string, options: DeployOptions): Promise<Deployment> {
  const { reporter, signal } = options;
  const started = Date.now();
  let lastStatus = '';
  let finished: Deployment;
  try {
    finished = await pollUntil(
      () => platform.getDeployment(created.id, { signal }),
      (current) => TERMINAL_DEPLOY_PHASES.has(current.phase),
      {
        what: `deployment ${created.id}`,
        intervalMs: options.pollIntervalMs,
        timeoutMs: options.timeoutMs,
        signal,
        onValue: (current) => {
          if (current.rawStatus !== lastStatus) {
            lastStatus = current.rawStatus;
            reporter.status?.(name, 'deployment', current.rawStatus, Date.now() - started);
          }
        },
      },
    );
  } catch (err) {
    const interrupted = err instanceof TimeoutError || signal?.aborted;
    if (!interrupted) throw err;
    const fate = await abandon(platform, created, name, options);
    const why = err instanceof TimeoutError ? err.message : 'the run was cancelled';
    throw new PhaseError(name, 'wait', `${why}; ${fate}`, { cause: err, deploymentId: created.id, logTail: await logTail(platform, created) });
  }
  if (finished.phase === 'healthy') return finished;
  // Removed while it came up: most likely the PR closed (or moved on) and its close got there first.
  // That run is not a failure, and the close's comment stands.
  const goneBecause = options.preview && GONE_DEPLOY_PHASES.has(finished.phase) ? await unwantedBecause(options) : undefined;
  if (goneBecause) {
    throw new UnwantedPreviewError(
      goneBecause,
      `${name}: ${notWantedWhy(goneBecause)}; its preview deployment ${finished.id} was removed meanwhile (${finished.rawStatus})`,
      finished.id,
    );
  }
  // The log tail first: a deleted deployment may take its logs with it.
  const tail = await logTail(platform, finished);
  // A preview that failed serves nobody, as one that never became healthy in time.
  const fate = options.preview && !GONE_DEPLOY_PHASES.has(finished.phase) ? `; ${await abandon(platform, finished, name, options)}` : '';
  throw new PhaseError(name, 'deploy', `deployment ${finished.id} ended ${finished.rawStatus}${fate}`, {
    deploymentId: finished.id,
    logTail: tail,
  });
}

/**
 * A preview that never became healthy serves nobody: delete it so it does not linger. A real
 * deploy is left alone (it may still roll out), and the user is told where it is.
 */
async function abandon(platform: Platform, deployment: Deployment, name: string, options: DeployOptions): Promise<string> {
  if (!options.preview) return `deployment ${deployment.id} was left in place; check it with \`agent-preview status\``;
  try {
    // Said once, in the failure this fate is part of.
    const result = await platform.deleteDeployment(deployment.id, { signal: AbortSignal.timeout(15_000) });
    return result === 'deleted' ? `preview deployment ${deployment.id} was deleted` : `preview deployment ${deployment.id} was already gone`;
  } catch (err) {
    return `preview deployment ${deployment.id} could not be deleted (${(err as Error).message}); remove it with \`agent-preview teardown --label ${options.preview.label}\``;
  }
}

/** The platform's deployment logs and events, newest last, for a failure message. */
async function logTail(platform: Platform, deployment: Deployment): Promise<string[]> {
  const lines: string[] = [];
  const current = await platform.getDeployment(deployment.id, { signal: AbortSignal.timeout(15_000) }).catch(() => deployment);
  for (const event of current.events) {
    lines.push(`[event${event.type ? ` ${event.type}` : ''}${event.reason ? ` ${event.reason}` : ''}] ${event.message}`);
  }
  try {
    const logs = await platform.deploymentLogs(deployment.id, { maxLines: LOG_TAIL, signal: AbortSignal.timeout(15_000) });
    for (const line of logs) lines.push(line.level ? `[${line.level}] ${line.message}` : line.message);
  } catch (err) {
    lines.push(`(deployment logs unavailable: ${(err as Error).message})`);
  }
  return lines.slice(-LOG_TAIL * 2).map(redact);
}

export function previewUrl(platform: Platform, deployment: Deployment, agent: DeployableAgent, options: DeployOptions): string | undefined {
  if (deployment.url && !urlCarriesCredential(deployment.url)) return deployment.url;
  if (!options.urlTemplate) {
    if (deployment.phase === 'healthy') {
      options.reporter.warn(
        platform.capabilities.deploymentUrl
          ? `${agent.manifest.agent.name}: deployment ${deployment.id} is healthy but gave no public URL (a URL carrying a credential is never shown); set a preview-url template (--preview-url) to link the preview`
          : `${agent.manifest.agent.name}: ${platform.name} deployments carry no URL; set a preview-url template (--preview-url) to link the preview`,
      );
    }
    return undefined;
  }
  const url = renderUrlTemplate(options.urlTemplate, {
    ...options.urlVariables,
    id: deployment.id,
    label: deployment.previewLabel ?? options.preview?.label,
    release: deployment.release,
    namespace: deployment.namespace ?? agent.environment?.namespace,
    agent: agent.manifest.agent.name,
  });
  return urlCarriesCredential(url) ? undefined : url;
}

/**
 * Without waiting, nothing older is replaced (the new preview may never become healthy): say which
 * older previews of the label still run, by id, instead of leaving them unmentioned.
 */
async function noteOlderPreviews(platform: Platform, created: Deployment, name: string, options: DeployOptions): Promise<void> {
  const label = options.preview!.label;
  try {
    const older = (await olderPreviews(platform, created, name, options)).map((deployment) => deployment.id);
    if (older.length) {
      options.reporter.warn(
        `${name}: ${older.length} older preview(s) of "${label}" still run beside ${created.id}: ${older.join(', ')}. --no-wait does not wait for the new one to be healthy, so it replaces nothing; a deploy that waits does`,
      );
    }
  } catch (err) {
    options.reporter.warn(`${name}: could not list older previews of "${label}": ${(err as Error).message}`);
  }
}

/** This agent's live previews of the label older than `current`, made by this repository (or any, when none is known). */
async function olderPreviews(platform: Platform, current: Deployment, name: string, options: DeployOptions): Promise<Deployment[]> {
  const previews = await platform.listDeployments({ previewLabel: options.preview?.label, agentName: name }, { signal: options.signal });
  const currentCreated = current.createdAt ? Date.parse(current.createdAt) : Number.POSITIVE_INFINITY;
  const repo = parseSourceRepo(options.sourceRepo);
  const lookUpBuild = cachedBuildLookup(platform);
  const older: Deployment[] = [];
  for (const candidate of previews) {
    if (candidate.id === current.id || GONE_DEPLOY_PHASES.has(candidate.phase)) continue;
    if (candidate.agentName && candidate.agentName !== name) continue;
    // Only a preview whose records name this repository is ours to replace, whatever its label.
    if (repo && (await ownershipOf(candidate, repo, lookUpBuild, { signal: options.signal })) !== 'ours') continue;
    // A preview made by a newer run is not ours to remove.
    if (candidate.createdAt && Date.parse(candidate.createdAt) > currentCreated) continue;
    older.push(candidate);
  }
  return older;
}

/**
 * Deletes the previews of the same label and agent that are older than `current`, so a PR has one
 * preview and its URL never goes dark in between.
 */
async function deleteOlderPreviews(platform: Platform, current: Deployment, name: string, options: DeployOptions): Promise<string[]> {
  const label = options.preview?.label;
  if (!label) return [];
  const replaced: string[] = [];
  try {
    for (const older of await olderPreviews(platform, current, name, options)) {
      const result = await platform.deleteDeployment(older.id, { signal: options.signal });
      if (result === 'deleted') replaced.push(older.id);
    }
    if (replaced.length) options.reporter.step(name, `removed ${replaced.length} older preview(s): ${replaced.join(', ')}`);
  } catch (err) {
    options.reporter.warn(`${name}: could not remove older previews of "${label}": ${(err as Error).message}; \`agent-preview teardown\` removes them`);
  }
  return replaced;
}
