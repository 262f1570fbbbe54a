import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { parse as parseYaml } from 'yaml';
import type { AgentDirective } from './agent.js';
import { systemClock, type Clock } from './clock.js';
import { sanitizePreviewLabel } from '../platforms/agentex/label.js';

/** A 4xx the API would answer, with its `detail`. */
export class ClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface BuildRecord {
  id: string;
  object: 'agentex_cloud_build';
  account_id: string;
  agent_id: string;
  agent_name: string;
  build_status: 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLING' | 'CANCELLED';
  image_name: string;
  image_tag: string;
  image_url: string;
  platform?: string;
  build_args?: Record<string, string>;
  working_tree_hash?: string;
  source_commit?: string;
  source_dirty?: boolean;
  source_ref?: string;
  source_repo?: string;
  source_subpath?: string;
  archive_bytes: number;
  created_at: string;
  updated_at: string;
  build_start_time?: string;
  build_end_time?: string;
}

export interface DeployEventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  timestamp: string;
}

export interface DeploymentRecord {
  id: string;
  object: 'agentex_cloud_deploy';
  account_id: string;
  agent_id: string;
  agent_name: string;
  namespace: string;
  status: 'PENDING' | 'IN_PROGRESS' | 'HEALTHY' | 'FAILED' | 'CANCELLED' | 'DELETED' | 'SUPERSEDED';
  manifest_file: string;
  environment_config: string;
  build_id?: string;
  image_name: string;
  image_tag: string;
  helm_release_name: string;
  preview: boolean;
  /** Same as `preview`, under the name some clients read. */
  is_preview: boolean;
  preview_label?: string;
  expires_at?: string;
  created_at: string;
  updated_at: string;
  created_by: { id: string; type: 'user'; object: 'identity' };
  deploy_events: DeployEventRecord[];
  /** Extension of the local platform: where the deployment answers once healthy. */
  url?: string;
}

export interface LogRecord {
  id: string;
  message: string;
  log_level: 'INFO' | 'WARNING' | 'ERROR';
  timestamp: string;
}

export interface LifecycleTiming {
  buildStepMs: number;
  deployStepMs: number;
}

export const FAIL_BUILD_MARKER = '# local-platform: fail-build';
export const CRASH_MARKER = '# local-platform: crash';

/** The marker must be a line of its own, so a comment that merely mentions it does not count. */
function hasMarkerLine(dockerfile: string, marker: string): boolean {
  return dockerfile.split(/\r?\n/).some((line) => line.trim() === marker);
}

function id(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

interface BuildRuntime {
  lines: string[];
  dockerfile: string;
  /** The local agent's directive lines found in the build context (`agent.ts`). */
  agentDirectives: AgentDirective[];
  timer?: unknown;
  events: EventEmitter;
}

/**
 * The platform's records and how they move over time. Builds go QUEUED → RUNNING → SUCCESS (or
 * FAILED) while their log grows; deployments go PENDING → IN_PROGRESS → HEALTHY (or FAILED).
 * Previews past their `expires_at` become DELETED.
 */
export class PlatformState {
  readonly builds = new Map<string, BuildRecord>();
  readonly deployments = new Map<string, DeploymentRecord>();
  readonly agents = new Map<string, string>();
  private readonly runtimes = new Map<string, BuildRuntime>();
  private readonly deploymentLogs = new Map<string, LogRecord[]>();
  private readonly timers = new Set<unknown>();
  private closed = false;

  constructor(
    private readonly accountId: string,
    private readonly timing: LifecycleTiming,
    private readonly baseUrl: () => string,
    private readonly clock: Clock = systemClock,
  ) {}

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private later(ms: number, fn: () => void): unknown {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const runtime of this.runtimes.values()) runtime.events.emit('end');
  }

  // ---- builds

  resolveAgent(fields: { agent_name?: string; agent_id?: string }, strictNames: boolean): { agentId: string; agentName: string } {
    if (fields.agent_name && fields.agent_id) throw new ClientError(400, 'send exactly one of agent_name or agent_id');
    if (fields.agent_id) {
      const name = [...this.agents.entries()].find(([, agentId]) => agentId === fields.agent_id)?.[0];
      if (!name) throw new ClientError(404, `agent ${fields.agent_id} not found`);
      return { agentId: fields.agent_id, agentName: name };
    }
    if (!fields.agent_name) throw new ClientError(400, 'agent_name or agent_id is required');
    if (!/^[a-z0-9-]+$/.test(fields.agent_name)) throw new ClientError(422, `agent_name "${fields.agent_name}" must match ^[a-z0-9-]+$`);
    const existing = this.agents.get(fields.agent_name);
    if (existing) {
      if (strictNames) throw new ClientError(409, `agent ${fields.agent_name} already exists; send agent_id ${existing}`);
      return { agentId: existing, agentName: fields.agent_name };
    }
    const agentId = id('agent');
    this.agents.set(fields.agent_name, agentId);
    return { agentId, agentName: fields.agent_name };
  }

  createBuild(
    record: Omit<BuildRecord, 'id' | 'object' | 'account_id' | 'build_status' | 'created_at' | 'updated_at' | 'image_url'>,
    dockerfile: string,
    agentDirectives: AgentDirective[] = [],
  ): BuildRecord {
    const build: BuildRecord = {
      ...record,
      id: id('bld'),
      object: 'agentex_cloud_build',
      account_id: this.accountId,
      build_status: 'QUEUED',
      image_url: `registry.local/${this.accountId}/${record.image_name}:${record.image_tag}`,
      created_at: this.now(),
      updated_at: this.now(),
    };
    this.builds.set(build.id, build);
    const runtime: BuildRuntime = { lines: [], dockerfile, agentDirectives, events: new EventEmitter() };
    runtime.events.setMaxListeners(0);
    this.runtimes.set(build.id, runtime);
    const script = buildScript(build, dockerfile);
    const step = Math.max(1, Math.round(this.timing.buildStepMs / 4));
    runtime.timer = this.later(this.timing.buildStepMs, () => {
      build.build_status = 'RUNNING';
      build.build_start_time = this.now();
      build.updated_at = build.build_start_time;
      const emit = (index: number) => {
        if (build.build_status !== 'RUNNING') return;
        if (index < script.lines.length) {
          this.appendBuildLine(build.id, script.lines[index]);
          runtime.timer = this.later(step, () => emit(index + 1));
          return;
        }
        runtime.timer = this.later(this.timing.buildStepMs, () => this.finishBuild(build.id, script.fails ? 'FAILED' : 'SUCCESS'));
      };
      emit(0);
    });
    return build;
  }

  private appendBuildLine(buildId: string, line: string): void {
    const runtime = this.runtimes.get(buildId)!;
    runtime.lines.push(line);
    runtime.events.emit('line', runtime.lines.length);
  }

  private finishBuild(buildId: string, status: BuildRecord['build_status']): void {
    const build = this.builds.get(buildId)!;
    build.build_status = status;
    build.build_end_time = this.now();
    build.updated_at = build.build_end_time;
    this.runtimes.get(buildId)?.events.emit('end');
  }

  cancelBuild(buildId: string): BuildRecord {
    const build = this.requireBuild(buildId);
    const before = { ...build };
    if (build.build_status === 'QUEUED' || build.build_status === 'RUNNING') {
      const runtime = this.runtimes.get(buildId)!;
      if (runtime.timer) this.clock.clearTimeout(runtime.timer);
      build.build_status = 'CANCELLING';
      build.updated_at = this.now();
      this.later(Math.max(1, Math.round(this.timing.buildStepMs / 4)), () => {
        this.appendBuildLine(buildId, 'ERROR: build cancelled by request');
        this.finishBuild(buildId, 'CANCELLED');
      });
    }
    return before;
  }

  requireBuild(buildId: string): BuildRecord {
    const build = this.builds.get(buildId);
    if (!build) throw new ClientError(404, `build ${buildId} not found`);
    return build;
  }

  /** The local agent's directives in a build's context; none for an unknown build (a deploy by image). */
  agentDirectivesOf(buildId: string | undefined): AgentDirective[] {
    return (buildId && this.runtimes.get(buildId)?.agentDirectives) || [];
  }

  buildLog(buildId: string): { lines: string[]; events: EventEmitter; finished: () => boolean } {
    const build = this.requireBuild(buildId);
    const runtime = this.runtimes.get(buildId)!;
    return {
      lines: runtime.lines,
      events: runtime.events,
      finished: () => ['SUCCESS', 'FAILED', 'CANCELLED'].includes(build.build_status),
    };
  }

  // ---- deployments

  createDeployment(body: Record<string, unknown>): DeploymentRecord {
    this.expirePreviews();
    const manifestText = requireText(body, 'manifest_file');
    const environmentText = requireText(body, 'environment_config');
    const manifest = parseYamlField(manifestText, 'manifest_file') as { agent?: { name?: unknown } } | null;
    const agentName = manifest?.agent?.name;
    if (typeof agentName !== 'string' || !agentName) throw new ClientError(422, 'manifest_file: agent.name is required');
    const environments = parseYamlField(environmentText, 'environment_config') as { environments?: Record<string, { kubernetes?: { namespace?: string } }> } | null;
    if (!environments?.environments || typeof environments.environments !== 'object') {
      throw new ClientError(422, 'environment_config: environments is required');
    }
    const firstEnvironment = Object.values(environments.environments)[0];
    const namespace = firstEnvironment?.kubernetes?.namespace ?? `agents-${agentName}`;

    const previewFlag = body.preview ?? body.is_preview;
    if (previewFlag !== undefined && previewFlag !== null && typeof previewFlag !== 'boolean') throw new ClientError(422, 'preview must be a boolean');
    const preview = previewFlag === true;
    if (!preview && body.preview_label !== undefined && body.preview_label !== null) {
      throw new ClientError(422, 'preview_label is only valid when preview is true');
    }
    if (!preview && body.expires_at !== undefined && body.expires_at !== null) throw new ClientError(422, 'expires_at is only valid when preview is true');

    let build: BuildRecord | undefined;
    let image: { name: string; tag: string };
    if (typeof body.build_id === 'string' && body.build_id) {
      build = this.builds.get(body.build_id);
      if (!build) throw new ClientError(404, `build ${body.build_id} not found`);
      if (build.build_status !== 'SUCCESS') throw new ClientError(409, `build ${build.id} is ${build.build_status}; only a successful build can be deployed`);
      if (build.agent_name !== agentName) {
        throw new ClientError(422, `manifest_file names agent "${agentName}" but build ${build.id} is for "${build.agent_name}"`);
      }
      image = { name: build.image_name, tag: build.image_tag };
    } else if (typeof body.image_name === 'string' && body.image_name) {
      image = { name: body.image_name, tag: typeof body.image_tag === 'string' && body.image_tag ? body.image_tag : 'latest' };
    } else {
      throw new ClientError(422, 'build_id or image_name is required');
    }

    let label: string | undefined;
    let expiresAt: string | undefined;
    if (preview) {
      if (typeof body.preview_label !== 'string' || !body.preview_label) throw new ClientError(400, 'preview_label is required for a preview');
      label = sanitizePreviewLabel(body.preview_label).label;
      if (!label) throw new ClientError(422, `preview_label "${body.preview_label}" has no letters or digits`);
      if (body.expires_at !== undefined) {
        const at = Date.parse(String(body.expires_at));
        if (Number.isNaN(at)) throw new ClientError(422, 'expires_at must be an ISO 8601 time');
        if (at <= this.clock.now()) throw new ClientError(422, 'expires_at must be in the future');
        expiresAt = new Date(at).toISOString();
      } else expiresAt = new Date(this.clock.now() + 8 * 3_600_000).toISOString();
    }

    const agentId = this.agents.get(agentName) ?? id('agent');
    this.agents.set(agentName, agentId);
    const releaseSuffix = randomBytes(2).toString('hex');
    const deployment: DeploymentRecord = {
      id: id('dep'),
      object: 'agentex_cloud_deploy',
      account_id: this.accountId,
      agent_id: agentId,
      agent_name: agentName,
      namespace,
      status: 'PENDING',
      manifest_file: manifestText,
      environment_config: environmentText,
      build_id: build?.id,
      image_name: image.name,
      image_tag: image.tag,
      // A preview gets a release of its own; real deploys of an agent share one release, so a newer one supersedes the older.
      helm_release_name: preview ? `${agentName}-${label}-${releaseSuffix}`.slice(0, 53) : agentName,
      preview,
      is_preview: preview,
      preview_label: label,
      expires_at: expiresAt,
      created_at: this.now(),
      updated_at: this.now(),
      created_by: { id: 'user-local', type: 'user', object: 'identity' },
      deploy_events: [],
    };
    this.deployments.set(deployment.id, deployment);
    this.deploymentLogs.set(deployment.id, []);
    const dockerfile = build ? (this.runtimes.get(build.id)?.dockerfile ?? '') : '';
    this.rollOut(deployment, hasMarkerLine(dockerfile, CRASH_MARKER));
    return deployment;
  }

  private event(deployment: DeploymentRecord, type: DeployEventRecord['type'], reason: string, message: string): void {
    deployment.deploy_events.push({ type, reason, message, timestamp: this.now() });
    deployment.updated_at = this.now();
  }

  private log(deployment: DeploymentRecord, level: LogRecord['log_level'], message: string): void {
    const logs = this.deploymentLogs.get(deployment.id)!;
    logs.push({ id: String(logs.length + 1), message, log_level: level, timestamp: this.now() });
  }

  private rollOut(deployment: DeploymentRecord, crashes: boolean): void {
    const step = this.timing.deployStepMs;
    const live = () => deployment.status === 'PENDING' || deployment.status === 'IN_PROGRESS';
    this.event(deployment, 'Normal', 'Scheduled', `Successfully assigned ${deployment.namespace}/${deployment.helm_release_name} to local-node`);
    this.later(step, () => {
      if (!live()) return;
      deployment.status = 'IN_PROGRESS';
      this.event(deployment, 'Normal', 'Pulling', `Pulling image "registry.local/${deployment.image_name}:${deployment.image_tag}"`);
      this.event(deployment, 'Normal', 'Pulled', 'Successfully pulled image');
      this.log(deployment, 'INFO', 'INFO:     Started server process [1]');
      this.log(deployment, 'INFO', 'INFO:     Waiting for application startup.');
      this.later(step, () => {
        if (!live()) return;
        if (crashes) {
          this.event(deployment, 'Normal', 'Started', 'Started container agent');
          this.log(deployment, 'ERROR', 'Traceback (most recent call last):');
          this.log(deployment, 'ERROR', '  File "/app/project/acp.py", line 3, in <module>');
          this.log(deployment, 'ERROR', '    from agentex.lib.sdk.fastacp.fastacp import FastACP');
          this.log(deployment, 'ERROR', "ModuleNotFoundError: No module named 'agentex'");
          this.event(deployment, 'Warning', 'BackOff', `Back-off restarting failed container agent in pod ${deployment.helm_release_name}-0 (CrashLoopBackOff)`);
          deployment.status = 'FAILED';
          deployment.updated_at = this.now();
          return;
        }
        this.log(deployment, 'INFO', 'INFO:     Application startup complete.');
        this.log(deployment, 'INFO', 'INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)');
        this.event(deployment, 'Normal', 'Started', 'Started container agent');
        deployment.status = 'HEALTHY';
        deployment.url = `${this.baseUrl()}/previews/${deployment.helm_release_name}/`;
        deployment.updated_at = this.now();
        if (!deployment.preview) this.supersedeOlder(deployment);
      });
    });
  }

  /** Only deployments created before this one: a newer one still rolling out must not be replaced by an older that got healthy later. */
  private supersedeOlder(current: DeploymentRecord): void {
    for (const other of this.deployments.values()) {
      if (other.id === current.id) break;
      if (other.preview || other.helm_release_name !== current.helm_release_name) continue;
      if (other.status === 'HEALTHY' || other.status === 'PENDING' || other.status === 'IN_PROGRESS') {
        other.status = 'SUPERSEDED';
        other.updated_at = this.now();
        this.event(other, 'Normal', 'Superseded', `Superseded by deployment ${current.id}`);
      }
    }
  }

  requireDeployment(deploymentId: string): DeploymentRecord {
    this.expirePreviews();
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) throw new ClientError(404, `deployment ${deploymentId} not found`);
    return deployment;
  }

  deleteDeployment(deploymentId: string): DeploymentRecord {
    const deployment = this.requireDeployment(deploymentId);
    if (deployment.status === 'DELETED' || deployment.status === 'CANCELLED' || deployment.status === 'SUPERSEDED') {
      throw new ClientError(400, `deployment already ${deployment.status}`);
    }
    deployment.status = 'DELETED';
    deployment.updated_at = this.now();
    this.event(deployment, 'Normal', 'Killing', 'Stopping container agent');
    return deployment;
  }

  logsOf(deploymentId: string): LogRecord[] {
    this.requireDeployment(deploymentId);
    return this.deploymentLogs.get(deploymentId) ?? [];
  }

  /** Previews past their expiry are gone. */
  expirePreviews(): void {
    const current = this.clock.now();
    for (const deployment of this.deployments.values()) {
      if (!deployment.preview || !deployment.expires_at) continue;
      if (['DELETED', 'SUPERSEDED', 'CANCELLED'].includes(deployment.status)) continue;
      if (Date.parse(deployment.expires_at) <= current) {
        deployment.status = 'DELETED';
        deployment.updated_at = this.now();
        this.event(deployment, 'Normal', 'Expired', `Preview expired at ${deployment.expires_at}`);
      }
    }
  }

  /** The newest deployment of a release: real deploys of one agent share their release. */
  byRelease(release: string): DeploymentRecord | undefined {
    this.expirePreviews();
    return [...this.deployments.values()].reverse().find((deployment) => deployment.helm_release_name === release);
  }
}

function requireText(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || !value.trim()) throw new ClientError(422, `${field} is required (the file's text)`);
  return value;
}

function parseYamlField(text: string, field: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ClientError(422, `${field} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A docker-buildkit-like log for the Dockerfile, and whether the build fails. */
function buildScript(build: BuildRecord, dockerfile: string): { lines: string[]; fails: boolean } {
  const instructions = dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const base = instructions.find((line) => /^FROM\s/i.test(line))?.split(/\s+/)[1] ?? 'scratch';
  const fails = hasMarkerLine(dockerfile, FAIL_BUILD_MARKER);
  const lines = [
    `#0 building with "local" instance using docker-container driver`,
    '#1 [internal] load build definition from Dockerfile',
    `#1 transferring dockerfile: ${Buffer.byteLength(dockerfile)}B done`,
    `#2 [internal] load metadata for docker.io/library/${base}`,
    '#3 [internal] load build context',
    `#3 transferring context: ${(build.archive_bytes / 1024).toFixed(1)}kB done`,
  ];
  const steps = instructions.filter((line) => !/^(FROM|ENV|EXPOSE|CMD|ENTRYPOINT|WORKDIR|LABEL|ARG|USER)\s/i.test(line));
  steps.forEach((instruction, index) => {
    lines.push(`#${index + 4} [${index + 1}/${steps.length}] ${instruction}`);
    if (fails && index === steps.length - 1) {
      lines.push(`#${index + 4} ERROR: process "/bin/sh -c ${instruction.replace(/^\w+\s+/, '')}" did not complete successfully: exit code: 1`);
    } else lines.push(`#${index + 4} DONE 0.${(index % 9) + 1}s`);
  });
  if (fails) {
    lines.push('ERROR: failed to solve: process did not complete successfully: exit code: 1');
  } else {
    lines.push(`#${steps.length + 4} exporting to image`);
    lines.push(`#${steps.length + 4} pushing ${build.image_url} done`);
  }
  return { lines, fails };
}
