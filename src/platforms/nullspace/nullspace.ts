import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ApiError, InputError } from '../../errors.js';
import { HttpClient } from '../../http/client.js';
import { redact } from '../../secrets/redact.js';
import type {
  Build,
  Builder,
  BuildRequest,
  CallOptions,
  DeployEvent,
  DeployRequest,
  Deployment,
  DeploymentFilter,
  LabelRule,
  LogLine,
  Platform,
  PlatformCapabilities,
  UploadOptions,
} from '../platform.js';
import type { PlatformClientOptions } from '../settings.js';
import { type Json, newestFirst, stringField, stringOf } from '../records.js';
import { GONE_DEPLOY_PHASES } from '../platform.js';
import { resolveNullspaceSettings, type NullspaceSettingsInput } from './config.js';
import { servicePhase, versionPhase } from './status.js';

/*
 * Nullspace sandbox agent deployments. The one full reference we have is "Create an agent service
 * instance" (POST /v1/agent-deployments/{deployment_id}/services); the rest of the flow is from
 * the platform summary: agent-deployments (`adpl_…`) created with {name, mode: service, metadata},
 * versions (`adpv_…`) activated by uploading a plain tar bundle, services (`adsvc_…`) listed with
 * `status`, `version_id`, `limit`, `cursor` → `{items, next_cursor}`, and get/stop/restart.
 * Routes the summary names but does not spell out are assumed REST-style and marked ASSUMED.
 *
 * Mapping:
 * - a build is a version of the agent's own agent-deployment (named after the agent), holding the
 *   context as a plain tar; the upload activates it, so a created build has already succeeded;
 * - a preview is an agent-deployment named `<agent>-<label>` whose metadata carries
 *   {preview_label, agent_name, pr, build_deployment_id}; a deployment is a service started in it from a version.
 *   Deployment ids are `<adpl_…>:<adsvc_…>` and build ids `<adpl_…>:<adpv_…>`, since every
 *   service and version route is nested under its agent-deployment.
 *
 * `public_url` is a signed edge URL carrying an `edge_token` bearer credential. The reference
 * offers no unsigned form and does not say the URL works without the token, so it is never read
 * into anything we return: `Deployment.url` stays undefined and `deploymentUrl` is false (the
 * preview link comes from a URL template).
 */

export interface NullspacePlatformOptions extends NullspaceSettingsInput, PlatformClientOptions {}

const PAGE_LIMIT = 100;
/** Stops a runaway cursor from looping forever. */
const MAX_PAGES = 200;
/** How many times a create is re-keyed when its key answers with a service already stopped. */
const MAX_GENERATIONS = 20;
const NAME_MAX = 63;

/** Nullspace's preview labels: part of the agent deployment's name (`agentDeploymentName`). */
export const NULLSPACE_LABEL_RULE: LabelRule = {
  sanitize: (input) => agentDeploymentName(input),
  description: `lowercase letters, digits and hyphens, at most ${NAME_MAX} characters`,
};

/**
 * The platform runs an uploaded bundle: the pipeline uploads the context (a version) instead of
 * pushing an image. Versions have no build log, cannot be cancelled (the upload is the whole build)
 * and cannot be looked up by tree hash, so the builder has only create and get.
 */
export class NullspacePlatform implements Platform, Builder {
  readonly name = 'nullspace';
  readonly capabilities: PlatformCapabilities = {
    // The only URL is the signed `public_url`, which carries a credential and is never kept.
    deploymentUrl: false,
    // Services have no expiry field.
    previewExpiry: false,
  };
  readonly builder: Builder = this;
  readonly labelRule = NULLSPACE_LABEL_RULE;
  readonly http: HttpClient;

  constructor(options: NullspacePlatformOptions = {}) {
    const settings = resolveNullspaceSettings(options, options.env);
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers: { authorization: `Bearer ${settings.apiKey}`, 'user-agent': 'agent-preview' },
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
  }

  async createBuild(request: BuildRequest, options: UploadOptions = {}): Promise<Build> {
    const deployment = await this.ensureAgentDeployment(agentDeploymentName(request.agentName), { agent_name: request.agentName }, options.signal);
    const deploymentId = requireString(deployment, 'id', 'create agent deployment');
    const provenance = request.provenance ?? {};
    const metadata: Json = compact({
      agent_name: request.agentName,
      tree_hash: request.treeHash,
      image_name: request.imageName,
      image_tag: request.imageTag,
      source_commit: provenance.commit,
      source_ref: provenance.ref,
      source_repo: provenance.repo,
      source_subpath: provenance.subpath,
    });
    // ASSUMED route: POST /v1/agent-deployments/{id}/versions {metadata}.
    const version = await this.http.json<Json>({
      call: 'create version',
      method: 'POST',
      path: `/v1/agent-deployments/${enc(deploymentId)}/versions`,
      json: { metadata },
      // Keyed by the whole request: a retry of this create sends the same key, while another push of
      // the same tree (another commit) or the same tree from another repository is a new version,
      // traceable to where it came from. A key reused with a different body is a 422.
      headers: { 'idempotency-key': idempotencyKey('version', deploymentId, JSON.stringify(metadata)) },
      idempotent: true,
      signal: options.signal,
    });
    const versionId = requireString(version, 'id', 'create version');
    if (versionPhase(version.status) === 'succeeded') return toBuild(deploymentId, version, request);

    const { digest, bytes } = await plainTarDigest(request.archivePath);
    // ASSUMED route: PUT /v1/agent-deployments/{id}/versions/{version_id}/bundle, plain tar body.
    const uploaded = await this.http.json<Json>({
      call: 'upload bundle',
      method: 'PUT',
      path: `/v1/agent-deployments/${enc(deploymentId)}/versions/${enc(versionId)}/bundle`,
      headers: { 'x-nullspace-bundle-digest': digest, 'idempotency-key': idempotencyKey('upload', versionId, digest) },
      body: {
        contentType: 'application/x-tar',
        length: bytes,
        open: () => plainTarStream(request.archivePath, bytes, options.onUploadProgress),
      },
      idempotent: true,
      signal: options.signal,
      timeoutMs: 10 * 60_000,
    });
    return toBuild(deploymentId, { ...version, ...uploaded }, request);
  }

  async getBuild(id: string, options: CallOptions = {}): Promise<Build> {
    const [deploymentId, versionId] = splitId(id, 'build');
    // ASSUMED route: GET /v1/agent-deployments/{id}/versions/{version_id}.
    const version = await this.http.json<Json>({
      call: 'get version',
      method: 'GET',
      path: `/v1/agent-deployments/${enc(deploymentId)}/versions/${enc(versionId)}`,
      signal: options.signal,
    });
    return toBuild(deploymentId, version);
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    if (!request.buildId) {
      throw new InputError('Nullspace starts services from an uploaded version; a deploy needs a build id, not an image', { field: 'build-id' });
    }
    const [buildDeploymentId, versionId] = splitId(request.buildId, 'build');
    const label = request.preview?.label;
    // `build_deployment_id` names where the versions live, so a service's version maps back to our build id.
    const metadata: Json = label
      ? compact({ preview_label: label, agent_name: request.agentName, pr: prNumber(label), build_deployment_id: buildDeploymentId })
      : { agent_name: request.agentName };
    const name = label ? agentDeploymentName(`${request.agentName}-${label}`) : agentDeploymentName(request.agentName);
    const deployment = await this.ensureAgentDeployment(name, metadata, options.signal);
    const deploymentId = requireString(deployment, 'id', 'create agent deployment');

    // The same key for every retry of this start, in this run or a rerun. A key that answers with
    // a service already torn down belongs to an earlier deploy: the next generation starts anew.
    // One that answers with a service that already failed is an earlier attempt of this same start
    // (a retry, or a rerun of the same commit, after a crash): reporting it would fail this run
    // without starting anything, so that service is started again.
    for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
      const service = await this.http.json<Json>({
        call: 'create service',
        method: 'POST',
        path: `/v1/agent-deployments/${enc(deploymentId)}/services`,
        json: { version_id: versionId, envs: {} },
        headers: { 'idempotency-key': idempotencyKey('service', deploymentId, versionId, String(generation)) },
        idempotent: true,
        signal: options.signal,
      });
      const created = toDeployment(deploymentId, service, deployment);
      if (GONE_DEPLOY_PHASES.has(created.phase)) continue;
      if (created.phase !== 'failed') return created;
      const restarted = await this.restartService(deploymentId, requireString(service, 'id', 'create service'), deployment, options.signal);
      if (restarted) return restarted;
    }
    throw new ApiError(`POST /v1/agent-deployments/${deploymentId}/services (create service)`, undefined, 'every idempotency key tried answered with a stopped service');
  }

  async getDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    const [deploymentId, serviceId] = splitId(id, 'deployment');
    const [deployment, service] = await Promise.all([
      this.getAgentDeployment(deploymentId, options.signal),
      this.getService(deploymentId, serviceId, options.signal),
    ]);
    return toDeployment(deploymentId, service, deployment);
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    // ASSUMED route: GET /v1/agent-deployments?limit&cursor → {items, next_cursor}; filtered here by metadata.
    const deployments = (await this.listAll('list agent deployments', '/v1/agent-deployments', {}, options.signal)).filter((deployment) => {
      const metadata = metadataOf(deployment);
      if (filter.previewLabel && metadata.preview_label !== filter.previewLabel) return false;
      if (filter.agentName && metadata.agent_name !== filter.agentName) return false;
      return true;
    });
    const versionId = filter.buildId ? splitId(filter.buildId, 'build')[1] : undefined;
    const all: Deployment[] = [];
    for (const deployment of deployments) {
      const deploymentId = requireString(deployment, 'id', 'list agent deployments');
      const services = await this.listAll('list services', `/v1/agent-deployments/${enc(deploymentId)}/services`, { version_id: versionId }, options.signal);
      all.push(...services.map((service) => toDeployment(deploymentId, service, deployment)));
    }
    return all.filter((deployment) => !versionId || deployment.buildId?.endsWith(`:${versionId}`)).sort(newestFirst);
  }

  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const [deploymentId, serviceId] = splitId(id, 'deployment');
    const path = `/v1/agent-deployments/${enc(deploymentId)}/services/${enc(serviceId)}/stop`;
    // ASSUMED route: POST …/services/{service_id}/stop. Not a create, so no Idempotency-Key; repeating
    // it is safe (a repeat finds the service stopping or stopped).
    const response = await this.http.request<Json>({
      call: 'stop service',
      method: 'POST',
      path,
      idempotent: true,
      accept: [404, 409, 410],
      signal: options.signal,
    });
    if (response.status === 404 || response.status === 410) return 'already-gone';
    if (response.status < 300) return 'deleted';
    // 409: the service is in a state that cannot be stopped; only one stopping or stopped counts as done.
    const current = await this.getService(deploymentId, serviceId, options.signal).catch(() => undefined);
    if (current && GONE_DEPLOY_PHASES.has(servicePhase(current.status))) return 'already-gone';
    throw new ApiError(`POST ${path} (stop service)`, response.status, describe(response.body));
  }

  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    // The reference documents no log route. What a service says about itself is its lifecycle
    // timestamps, `readiness_status` and `failure_reason`: those are its log.
    const [deploymentId, serviceId] = splitId(id, 'deployment');
    const service = await this.getService(deploymentId, serviceId, options.signal);
    const lines: LogLine[] = [];
    const status = stringField(service, 'status') ?? 'unknown';
    const started = stringField(service, 'started_at');
    if (started) lines.push({ message: 'service started', level: 'info', timestamp: started });
    for (const event of readinessEvents(service)) lines.push({ message: event.message, level: 'info', timestamp: event.timestamp });
    const failure = stringField(service, 'failure_reason');
    if (failure) lines.push({ message: redact(failure), level: 'error', timestamp: stringField(service, 'updated_at') });
    const stopped = stringField(service, 'stopped_at');
    if (stopped) lines.push({ message: 'service stopped', level: 'info', timestamp: stopped });
    lines.push({ message: `status: ${status}`, level: servicePhase(status) === 'failed' ? 'error' : 'info', timestamp: stringField(service, 'updated_at') });
    const maxLines = options.maxLines ?? 2000;
    return lines.slice(-maxLines);
  }

  private async ensureAgentDeployment(name: string, metadata: Json, signal?: AbortSignal): Promise<Json> {
    const existing = (await this.listAll('list agent deployments', '/v1/agent-deployments', {}, signal)).find(
      (deployment) => deployment.name === name,
    );
    if (existing) return existing;
    return this.http.json<Json>({
      call: 'create agent deployment',
      method: 'POST',
      path: '/v1/agent-deployments',
      json: { name, mode: 'service', metadata },
      headers: { 'idempotency-key': idempotencyKey('agent-deployment', name, JSON.stringify(metadata)) },
      idempotent: true,
      signal,
    });
  }

  /**
   * Starts a failed service again. Undefined when the platform has no restart route, or the service
   * was stopped meanwhile: then the next generation starts a new one.
   */
  private async restartService(deploymentId: string, serviceId: string, deployment: Json, signal?: AbortSignal): Promise<Deployment | undefined> {
    // ASSUMED route: POST …/services/{service_id}/restart (stopped, failed or unhealthy services).
    // Not a create, so no Idempotency-Key; a repeat finds the service starting and answers 409.
    const response = await this.http.request<Json>({
      call: 'restart service',
      method: 'POST',
      path: `/v1/agent-deployments/${enc(deploymentId)}/services/${enc(serviceId)}/restart`,
      idempotent: true,
      accept: [404, 405, 409],
      signal,
    });
    if (response.status === 404 || response.status === 405) return undefined;
    // 409: no longer restartable (restarted by a concurrent run, or stopped): take it as it is now.
    const current = toDeployment(deploymentId, response.status === 409 ? await this.getService(deploymentId, serviceId, signal) : response.body, deployment);
    return GONE_DEPLOY_PHASES.has(current.phase) ? undefined : current;
  }

  private async getAgentDeployment(id: string, signal?: AbortSignal): Promise<Json> {
    // ASSUMED route: GET /v1/agent-deployments/{id}.
    return this.http.json<Json>({ call: 'get agent deployment', method: 'GET', path: `/v1/agent-deployments/${enc(id)}`, signal });
  }

  private async getService(deploymentId: string, serviceId: string, signal?: AbortSignal): Promise<Json> {
    // ASSUMED route: GET /v1/agent-deployments/{id}/services/{service_id}.
    return this.http.json<Json>({
      call: 'get service',
      method: 'GET',
      path: `/v1/agent-deployments/${enc(deploymentId)}/services/${enc(serviceId)}`,
      signal,
    });
  }

  private async listAll(call: string, path: string, query: Record<string, string | undefined>, signal?: AbortSignal): Promise<Json[]> {
    const all: Json[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Json>({ call, method: 'GET', path, query: { ...query, limit: PAGE_LIMIT, cursor }, signal });
      const items = Array.isArray(body?.items) ? (body.items as Json[]) : [];
      all.push(...items);
      const next = stringField(body ?? {}, 'next_cursor');
      if (!next || next === cursor) break;
      cursor = next;
    }
    return all;
  }
}

/** A key that is the same for every retry of one logical create, in this process or a rerun. */
export function idempotencyKey(kind: string, ...parts: string[]): string {
  const hash = createHash('sha256').update(kind);
  for (const part of parts) hash.update('\0').update(part);
  return `agent-preview-${kind}-${hash.digest('hex').slice(0, 40)}`;
}

/** Lowercase letters, digits and hyphens, at most 63 characters, with a hash tail when cut. */
export function agentDeploymentName(raw: string): string {
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean && clean.length <= NAME_MAX) return clean;
  const tail = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${clean.slice(0, NAME_MAX - 9).replace(/-+$/, '')}-${tail}`;
}

/** sha256 of the plain tar inside the tar.gz, and its size, read in one streaming pass. */
export async function plainTarDigest(archivePath: string): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    createReadStream(archivePath),
    createGunzip(),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done();
      },
    }),
  );
  return { digest: `sha256:${hash.digest('hex')}`, bytes };
}

function plainTarStream(archivePath: string, total: number, onProgress?: (sent: number, total: number) => void): Readable {
  const out = new PassThrough();
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      onProgress?.(sent, total);
      done(null, chunk);
    },
  });
  pipeline(createReadStream(archivePath), createGunzip(), counter, out).catch((err) => out.destroy(err as Error));
  return out;
}

function toBuild(deploymentId: string, version: Json, request?: BuildRequest): Build {
  const rawStatus = stringField(version, 'status') ?? 'unknown';
  const metadata = metadataOf(version);
  return {
    id: `${deploymentId}:${stringField(version, 'id') ?? ''}`,
    phase: versionPhase(rawStatus),
    rawStatus,
    agentName: stringOf(metadata.agent_name) ?? request?.agentName,
    agentId: deploymentId,
    imageName: stringOf(metadata.image_name) ?? request?.imageName,
    imageTag: stringOf(metadata.image_tag) ?? request?.imageTag,
    treeHash: stringOf(metadata.tree_hash) ?? request?.treeHash,
    sourceCommit: stringOf(metadata.source_commit) ?? request?.provenance?.commit,
    sourceRepo: stringOf(metadata.source_repo) ?? request?.provenance?.repo,
    createdAt: stringField(version, 'created_at'),
  };
}

/** A service as our Deployment. `public_url` is deliberately never read (it carries `edge_token`). */
export function toDeployment(deploymentId: string, service: Json, deployment?: Json): Deployment {
  const rawStatus = stringField(service, 'status') ?? 'unknown';
  const metadata = deployment ? metadataOf(deployment) : {};
  const versionId = stringField(service, 'version_id');
  const events: DeployEvent[] = readinessEvents(service);
  const failure = stringField(service, 'failure_reason');
  if (failure) events.push({ type: 'failure', reason: rawStatus, message: redact(failure), timestamp: stringField(service, 'updated_at') });
  return {
    id: `${stringField(service, 'deployment_id') ?? deploymentId}:${stringField(service, 'id') ?? ''}`,
    phase: servicePhase(rawStatus),
    rawStatus,
    agentName: stringOf(metadata.agent_name),
    buildId: versionId ? `${stringOf(metadata.build_deployment_id) ?? deploymentId}:${versionId}` : undefined,
    previewLabel: stringOf(metadata.preview_label),
    createdAt: stringField(service, 'created_at'),
    release: stringField(service, 'id'),
    namespace: stringField(deployment ?? {}, 'name'),
    url: undefined,
    events,
  };
}

/** `readiness_status` is an open object; each entry becomes one event, cleared of credentials. */
function readinessEvents(service: Json): DeployEvent[] {
  const readiness = service.readiness_status;
  if (!readiness || typeof readiness !== 'object' || Array.isArray(readiness)) return [];
  return Object.entries(readiness as Json)
    .filter(([key]) => !/url/i.test(key))
    .map(([key, value]) => ({
      type: 'readiness',
      reason: key,
      message: redact(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`),
    }));
}

function metadataOf(record: Json): Json {
  const metadata = record.metadata;
  return metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Json) : {};
}

function splitId(id: string, what: 'build' | 'deployment'): [string, string] {
  const at = id.indexOf(':');
  if (at <= 0 || at === id.length - 1) {
    throw new InputError(`"${id}" is not a Nullspace ${what} id (expected adpl_…:${what === 'build' ? 'adpv' : 'adsvc'}_…)`, { field: `${what}-id` });
  }
  return [id.slice(0, at), id.slice(at + 1)];
}

function prNumber(label: string): number | undefined {
  const match = /^pr-?(\d+)$/i.exec(label);
  return match ? Number(match[1]) : undefined;
}

function compact(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== ''));
}

function requireString(record: Json, field: string, call: string): string {
  const value = stringField(record ?? {}, field);
  if (!value) throw new ApiError(call, undefined, `the answer carries no ${field}`);
  return value;
}


function enc(value: string): string {
  return encodeURIComponent(value);
}

function describe(body: unknown): string {
  if (body && typeof body === 'object') {
    const record = body as Json;
    const message = record.message ?? record.detail ?? record.error;
    if (typeof message === 'string') return redact(message);
  }
  return redact(typeof body === 'string' ? body : JSON.stringify(body ?? 'no message from the server'));
}

