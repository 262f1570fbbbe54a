import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../bytes.js';
import { TimeoutError } from '../errors.js';
import type { Build, Builder, BuildProvenance, LogCursor } from '../platforms/platform.js';
import { TERMINAL_BUILD_PHASES } from '../platforms/platform.js';
import type { PreparedAgent } from './agent.js';
import { PhaseError } from './errors.js';
import { pollUntil, wakeSignal } from './poll.js';
import type { Reporter, StepContext } from './reporter.js';
import { parseSourceRepo, sameSourceRepo } from './source-repo.js';

export interface BuildOptions extends StepContext {
  buildArgs?: Record<string, string>;
  buildPlatform?: string;
  provenance?: BuildProvenance;
  /** The preview the build is for (some platforms keep builds per preview). */
  previewLabel?: string;
  /** Look for a successful build of the same tree first (default true). */
  reuse?: boolean;
}

export interface BuildOutcome {
  build: Build;
  reused: boolean;
}

const LOG_TAIL = 40;
const MAX_STREAM_DROPS = 20;

/** A successful build of the agent's packed context: an earlier one of the same tree, or a new one. */
export async function ensureBuild(builder: Builder, agent: PreparedAgent, options: BuildOptions): Promise<BuildOutcome> {
  const { reporter, signal } = options;
  const name = agent.manifest.agent.name;
  const packed = agent.packed;
  if (options.reuse !== false && builder.findReusableBuild) {
    // A build records one repository, and the sweep learns a preview's repository from its build: a
    // reused build must record this run's repository, or it would move this preview to another one.
    // Builds of the same tree for other repositories are passed over, not an end to the search.
    const passedOver: Build[] = [];
    const accept = (build: Build) => sameRepository(build.sourceRepo, options.provenance?.repo) || (passedOver.push(build), false);
    const earlier = await builder.findReusableBuild(name, packed.treeHash, { signal, accept });
    if (earlier) {
      reporter.step(name, `reusing build ${earlier.id}: the context is unchanged (working_tree_hash ${packed.treeHash.slice(0, 12)})`);
      return { build: earlier, reused: true };
    }
    if (passedOver.length) {
      reporter.step(
        name,
        `not reusing build ${passedOver[0].id} of the same tree: it was built for ${passedOver[0].sourceRepo ?? 'no recorded repository'}, this run deploys ${options.provenance?.repo ?? 'no recorded repository'}`,
      );
    }
  }
  reporter.step(name, `uploading the build context (${formatBytes(packed.archiveBytes, 2)}, ${packed.fileCount} files)`);
  const created = await builder.createBuild(
    {
      agentName: name,
      archivePath: packed.archivePath,
      archiveBytes: packed.archiveBytes,
      treeHash: packed.treeHash,
      imageName: agent.manifest.image.name,
      imageTag: agent.manifest.image.tag,
      buildArgs: options.buildArgs,
      platform: options.buildPlatform,
      provenance: options.provenance,
      previewLabel: options.previewLabel,
    },
    { signal, onUploadProgress: (sent, total) => reporter.uploadProgress?.(name, sent, total) },
  );
  reporter.step(name, `building ${created.id}`);
  const tail: string[] = [];
  let finished: Build;
  try {
    finished = await followBuild(builder, created, name, options, tail);
  } catch (err) {
    await cancelQuietly(builder, created.id, name, reporter, err);
    if (err instanceof TimeoutError) {
      throw new PhaseError(name, 'build', `${err.message}; the build was cancelled`, { cause: err, logTail: tail, buildId: created.id });
    }
    throw err;
  }
  if (finished.phase !== 'succeeded') {
    throw new PhaseError(name, 'build', `build ${finished.id} ended ${finished.rawStatus}`, { logTail: tail, buildId: finished.id });
  }
  return { build: finished, reused: false };
}

/** Streams the build log live while polling the status; reconnects a dropped stream without repeats. */
async function followBuild(builder: Builder, build: Build, agent: string, options: BuildOptions, tail: string[]): Promise<Build> {
  const { reporter } = options;
  const stopLogs = new AbortController();
  const onOuterAbort = () => stopLogs.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const streamClosed = wakeSignal();

  const logs = (async () => {
    const streamBuildLogs = builder.streamBuildLogs?.bind(builder);
    if (!streamBuildLogs) return;
    let cursor: LogCursor | undefined;
    for (let drops = 0; !stopLogs.signal.aborted;) {
      cursor = await streamBuildLogs(
        build.id,
        (line) => {
          tail.push(line);
          if (tail.length > LOG_TAIL) tail.shift();
          reporter.buildLog(agent, line);
        },
        { signal: stopLogs.signal, resume: cursor },
      );
      if (cursor.ended === 'closed') {
        streamClosed.fire();
        return;
      }
      drops++;
      if (drops > MAX_STREAM_DROPS) {
        reporter.warn(`${agent}: the build log stream kept dropping; following the build by its status only`);
        return;
      }
      reporter.warn(`${agent}: the build log stream dropped (${cursor.reason ?? 'connection closed'}); reconnecting`);
      await sleep(Math.min(500 * drops, 5000), undefined, { signal: stopLogs.signal });
    }
  })().catch((err) => {
    if (!stopLogs.signal.aborted) reporter.warn(`${agent}: build logs unavailable: ${(err as Error).message}`);
  });

  const started = Date.now();
  let lastStatus = '';
  try {
    return await pollUntil(
      () => builder.getBuild(build.id, { signal: options.signal }),
      (current) => TERMINAL_BUILD_PHASES.has(current.phase),
      {
        what: `build ${build.id}`,
        intervalMs: options.pollIntervalMs,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        wake: streamClosed,
        onValue: (current) => {
          if (current.rawStatus !== lastStatus) {
            lastStatus = current.rawStatus;
            reporter.status?.(agent, 'build', current.rawStatus, Date.now() - started);
          }
        },
      },
    );
  } finally {
    // Let the last lines arrive, then stop following.
    const grace = new AbortController();
    await Promise.race([logs, sleep(2000, undefined, { signal: grace.signal }).catch(() => {})]);
    grace.abort();
    stopLogs.abort();
    await logs;
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function cancelQuietly(builder: Builder, buildId: string, agent: string, reporter: Reporter, why: unknown): Promise<void> {
  if (!builder.cancelBuild) {
    reporter.warn(`${agent}: build ${buildId} cannot be cancelled on this platform (${reasonOf(why)}); it finishes on its own`);
    return;
  }
  try {
    await builder.cancelBuild(buildId, { signal: AbortSignal.timeout(15_000) });
    reporter.warn(`${agent}: cancelled build ${buildId} on the platform (${reasonOf(why)})`);
  } catch (err) {
    reporter.warn(`${agent}: could not cancel build ${buildId} on the platform: ${(err as Error).message}; cancel it there by hand`);
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof TimeoutError) return 'timed out';
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'CancelledError')) return 'the run was cancelled';
  return err instanceof Error ? err.message : String(err);
}

/** Both name the same repository, or neither names one. */
function sameRepository(a: string | undefined, b: string | undefined): boolean {
  const left = parseSourceRepo(a);
  const right = parseSourceRepo(b);
  return left && right ? sameSourceRepo(left, right) : !left && !right;
}
