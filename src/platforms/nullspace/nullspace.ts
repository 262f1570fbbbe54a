import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ApiError, InputError, UnsupportedError } from '../../errors.js';
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
import { bundleManifest, deploymentConfig, scanBundle } from './bundle.js';
import { servicePhase, versionPhase } from './status.js';
import { NULLSPACE_CONVERSATION_UNSUPPORTED } from './conversation.js';

/*
 * Nullspace agent deployments, from its API reference (docs.ns.rocks api-reference/agent-deployments:
 * create-an-agent-deployment, create-an-agent-deployment-version, upload-an-agent-deployment-
 * version-bundle; seed 004 for create-an-agent-service-instance) and its guide (agents/deployments):
 *   POST /v1/agent-deployments {name 1..128, mode: job|service, metadata?} + Idempotency-Key → adpl_…
 *        ("idempotent … when the same Idempotency-Key and payload are replayed")
 *   POST /v1/agent-deployments/{id}/versions {bundle_manifest, config} + Idempotency-Key → adpv_… (status created)
 *   PUT  /v1/agent-deployments/{id}/versions/{vid}/bundle, plain tar, X-Nullspace-Bundle-Digest
 *        → the version, ready and active
 *   POST /v1/agent-deployments/{id}/services {version_id, envs} + Idempotency-Key → adsvc_…
 *   GET  /v1/agent-deployments/{id}/services?status&version_id&limit&cursor → {items, next_cursor};
 *        get, stop and restart a service (the platform summary names them; the paths are ASSUMED)
 * Not documented as REST routes, so kept to what cannot be done otherwise, each marked ASSUMED
 * and failing with a clear message on 404/405: listing agent deployments (to find a label's
 * previews), reading one agent deployment or version, and deleting an agent deployment (the guide's
 * "delete the deployment when it is no longer needed"; its status has `deleted`).
 *
 * Mapping:
 * - a preview is an agent deployment of its own, `<agent>-<label>`, whose metadata carries
 *   {agent_name, preview_label, pr, source_repo}; a real deploy uses `<agent>`. It is created with
 *   an Idempotency-Key of its name and metadata, so a later build finds the same one without a list;
 * - a build is a version of that same deployment (versions live under their own deployment, and a
 *   service starts from a version of its deployment), made from the packed context: the bundle
 *   manifest and deployment config come from `bundle.ts`; the upload makes it ready, so a created
 *   build has already succeeded. Every run makes a new version (its manifest is dated);
 * - a deployment is a service started in that deployment. Ids are `<adpl_…>:<adsvc_…>` and build
 *   ids `<adpl_…>:<adpv_…>`, since every service and version route is nested under its deployment;
 * - deleting a deployment stops its service, then deletes the preview's agent deployment once no
 *   service of it is running, so a closed preview leaves nothing.
 *
 * `public_url` is a signed edge URL carrying an `edge_token` bearer credential. The reference
 * offers no unsigned form and does not say the URL works without the token, so it is never read
 * into anything we return: `Deployment.url` stays undefined and `deploymentUrl` is false (the
 * preview link comes from a URL template).
 */

export interface NullspacePlatformOptions extends NullspaceSettingsInput, PlatformClientOptions {
  /** Told what could not be done where an undocumented route is missing (the CLI and action print it as a warning). */
  onNotice?: (message: string) => void;
}

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
  /** No documented way to send a preview a message (conversation.ts). */
  readonly conversationUnsupported = NULLSPACE_CONVERSATION_UNSUPPORTED;
  readonly http: HttpClient;
  /** Agent deployments by id, from creates and lists (reading one is not a documented route). */
  private readonly deployments = new Map<string, Json>();
  /** Builds this client made, by id. */
  private readonly builds = new Map<string, Build>();
  /** Told what could not be done where an undocumented route is missing. */
  private readonly onNotice?: (message: string) => void;

  constructor(options: NullspacePlatformOptions = {}) {
    const settings = resolveNullspaceSettings(options, options.env);
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers: { authorization: `Bearer ${settings.apiKey}`, 'user-agent': 'agent-preview' },
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
    this.onNotice = options.onNotice;
  }

  async createBuild(request: BuildRequest, options: UploadOptions = {}): Promise<Build> {
    const label = request.previewLabel ? NULLSPACE_LABEL_RULE.sanitize(request.previewLabel) : undefined;
    const name = agentDeploymentName(label ? `${request.agentName}-${label}` : request.agentName);
    const metadata = compact({ agent_name: request.agentName, preview_label: label, pr: label ? prNumber(label) : undefined, source_repo: request.provenance?.repo });
    const deployment = await this.ensureAgentDeployment(name, metadata, options.signal);
    const deploymentId = requireString(deployment, 'id', 'create agent deployment');

    const bundle = await scanBundle(request.archivePath);
    const config = deploymentConfig(name, bundle);
    const body = { bundle_manifest: bundleManifest(bundle, config, new Date()), config };
    const version = await this.http.json<Json>({
      call: 'create version',
      method: 'POST',
      path: `/v1/agent-deployments/${enc(deploymentId)}/versions`,
      json: body,
      // Keyed by the whole request: a retry of this create sends the same key and body.
      headers: { 'idempotency-key': idempotencyKey('version', deploymentId, JSON.stringify(body)) },
      idempotent: true,
      signal: options.signal,
    });
    const versionId = requireString(version, 'id', 'create version');
    const provenance = { ...request, treeHash: request.treeHash };
    if (versionPhase(version.status) === 'succeeded') return this.remember(toBuild(deploymentId, version, provenance));

    const uploaded = await this.http.json<Json>({
      call: 'upload bundle',
      method: 'PUT',
      path: `/v1/agent-deployments/${enc(deploymentId)}/versions/${enc(versionId)}/bundle`,
      headers: { 'x-nullspace-bundle-digest': bundle.digest, 'idempotency-key': idempotencyKey('upload', versionId, bundle.digest) },
      body: {
        contentType: 'application/x-tar',
        length: bundle.bytes,
        open: () => plainTarStream(request.archivePath, bundle.bytes, options.onUploadProgress),
      },
      idempotent: true,
      signal: options.signal,
      timeoutMs: 10 * 60_000,
    });
    return this.remember(toBuild(deploymentId, { ...version, ...uploaded }, provenance));
  }

  /**
   * A build this client made is answered from memory (the upload said how it ended). Another is
   * read with GET …/versions/{id}, which is not a documented route (ASSUMED): a 405 says so.
   */
  async getBuild(id: string, options: CallOptions = {}): Promise<Build> {
    const known = this.builds.get(id);
    if (known) return known;
    const [deploymentId, versionId] = splitId(id, 'build');
    const path = `/v1/agent-deployments/${enc(deploymentId)}/versions/${enc(versionId)}`;
    const response = await this.http.request<Json>({ call: 'get version', method: 'GET', path, accept: [405], signal: options.signal });
    if (response.status === 405) throw new UnsupportedError(`Nullspace does not offer GET ${path} (405): a version made by another run cannot be read back`);
    return toBuild(deploymentId, response.body);
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    if (!request.buildId) {
      throw new InputError('Nullspace starts services from an uploaded version; a deploy needs a build id, not an image', { field: 'build-id' });
    }
    // A service starts from a version of its own deployment: the build's.
    const [deploymentId, versionId] = splitId(request.buildId, 'build');
    const deployment = this.deployments.get(deploymentId) ?? (await this.getAgentDeployment(deploymentId, options.signal)) ?? { id: deploymentId };
    const label = request.preview ? NULLSPACE_LABEL_RULE.sanitize(request.preview.label) : undefined;
    const recorded = stringOf(metadataOf(deployment).preview_label);
    if (recorded !== undefined && recorded !== label) {
      throw new InputError(`build ${request.buildId} belongs to the preview "${recorded}", not "${label ?? '(none)'}"; build again for this preview`, { field: 'build-id' });
    }

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
      this.deployments.get(deploymentId) ?? this.getAgentDeployment(deploymentId, options.signal),
      this.getService(deploymentId, serviceId, options.signal),
    ]);
    return toDeployment(deploymentId, service, deployment);
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    const label = filter.previewLabel === undefined ? undefined : NULLSPACE_LABEL_RULE.sanitize(filter.previewLabel);
    const deployments = (await this.listAgentDeployments(options.signal)).filter((deployment) => {
      if (isDeleted(deployment)) return false;
      const metadata = metadataOf(deployment);
      if (label !== undefined && metadata.preview_label !== label) return false;
      if (filter.agentName && metadata.agent_name !== filter.agentName) return false;
      return true;
    });
    const buildDeployment = filter.buildId ? splitId(filter.buildId, 'build')[0] : undefined;
    const versionId = filter.buildId ? splitId(filter.buildId, 'build')[1] : undefined;
    const all: Deployment[] = [];
    for (const deployment of deployments) {
      const deploymentId = requireString(deployment, 'id', 'list agent deployments');
      if (buildDeployment && deploymentId !== buildDeployment) continue;
      const services = await this.listAll('list services', `/v1/agent-deployments/${enc(deploymentId)}/services`, { version_id: versionId }, options.signal);
      all.push(...services.map((service) => toDeployment(deploymentId, service, deployment)));
    }
    return all.sort(newestFirst);
  }

  /**
   * Stops the service, then deletes the preview's agent deployment once none of its services runs,
   * so a closed preview leaves nothing behind. Stopping twice finds it stopping or stopped.
   */
  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const [deploymentId, serviceId] = splitId(id, 'deployment');
    const path = `/v1/agent-deployments/${enc(deploymentId)}/services/${enc(serviceId)}/stop`;
    // ASSUMED route: POST …/services/{service_id}/stop. Not a create, so no Idempotency-Key.
    const response = await this.http.request<Json>({ call: 'stop service', method: 'POST', path, idempotent: true, accept: [404, 409, 410], signal: options.signal });
    let result: 'deleted' | 'already-gone';
    if (response.status === 404 || response.status === 410) result = 'already-gone';
    else if (response.status < 300) result = 'deleted';
    else {
      // 409: the service is in a state that cannot be stopped; only one stopping or stopped counts as done.
      const current = await this.getService(deploymentId, serviceId, options.signal).catch(() => undefined);
      if (!current || !GONE_DEPLOY_PHASES.has(servicePhase(current.status))) throw new ApiError(`POST ${path} (stop service)`, response.status, describe(response.body));
      result = 'already-gone';
    }
    await this.deleteIdlePreview(deploymentId, options.signal);
    return result;
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

  /**
   * The agent deployment of this name, created with a key of its name and metadata, so the same
   * create replays the same deployment (no list needed). One deleted since (a closed preview
   * reopened) is not reused: the next key generation creates it anew.
   */
  private async ensureAgentDeployment(name: string, metadata: Json, signal?: AbortSignal): Promise<Json> {
    // ASSUMED: names are unique while a deployment lives (409). The same agent and label from
    // another repository then takes `<name>-<hash6 of the repository>`, the same one every time.
    const names = [
      name,
      `${name.slice(0, NAME_MAX - 7).replace(/-+$/, '')}-${createHash('sha256')
        .update(String(metadata.source_repo ?? ''))
        .digest('hex')
        .slice(0, 6)}`,
    ];
    for (const candidate of names) {
      for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
        const response = await this.http.request<Json>({
          call: 'create agent deployment',
          method: 'POST',
          path: '/v1/agent-deployments',
          json: { name: candidate, mode: 'service', metadata },
          headers: { 'idempotency-key': idempotencyKey('agent-deployment', candidate, JSON.stringify(metadata), String(generation)) },
          idempotent: true,
          accept: [409],
          signal,
        });
        if (response.status === 409) break;
        const deployment = response.body;
        if (isDeleted(deployment)) continue;
        this.deployments.set(requireString(deployment, 'id', 'create agent deployment'), deployment);
        return deployment;
      }
    }
    throw new ApiError('POST /v1/agent-deployments (create agent deployment)', 409, `the names ${names.join(' and ')} are taken by other agent deployments`);
  }

  /** Deletes a preview's agent deployment when none of its services is starting or running any more. */
  private async deleteIdlePreview(deploymentId: string, signal?: AbortSignal): Promise<void> {
    const deployment = this.deployments.get(deploymentId) ?? (await this.getAgentDeployment(deploymentId, signal));
    if (!deployment || stringOf(metadataOf(deployment).preview_label) === undefined || isDeleted(deployment)) return;
    let services: Json[];
    try {
      services = await this.listAll('list services', `/v1/agent-deployments/${enc(deploymentId)}/services`, {}, signal);
    } catch (err) {
      // Deleted meanwhile (by another run): nothing left to do.
      if (err instanceof ApiError && err.status === 404) {
        this.deployments.delete(deploymentId);
        return;
      }
      throw err;
    }
    if (services.some((service) => !GONE_DEPLOY_PHASES.has(servicePhase(service.status)) && servicePhase(service.status) !== 'failed')) return;
    // ASSUMED route: DELETE /v1/agent-deployments/{id}. Where it is missing (404/405) the deployment
    // stays, with no service running; say so rather than fail a teardown that stopped everything.
    const path = `/v1/agent-deployments/${enc(deploymentId)}`;
    const response = await this.http.request<Json>({ call: 'delete agent deployment', method: 'DELETE', path, idempotent: true, accept: [404, 405, 410], signal });
    if (response.status === 405) {
      this.onNotice?.(`Nullspace does not offer DELETE ${path} (405): agent deployment ${deploymentId} stays, with no service running; delete it with \`nullspace agent delete\``);
    }
    this.deployments.delete(deploymentId);
  }

  /** Agent deployments (ASSUMED route GET /v1/agent-deployments?limit&cursor → {items, next_cursor}). */
  private async listAgentDeployments(signal?: AbortSignal): Promise<Json[]> {
    const probe = await this.http.request<Json>({
      call: 'list agent deployments',
      method: 'GET',
      path: '/v1/agent-deployments',
      query: { limit: PAGE_LIMIT },
      accept: [404, 405],
      signal,
    });
    if (probe.status === 404 || probe.status === 405) {
      throw new ApiError(
        'GET /v1/agent-deployments (list agent deployments)',
        probe.status,
        'Nullspace does not offer a list of agent deployments here, so previews cannot be found by label; stop them with `nullspace agent stop <agent>-<label>`',
      );
    }
    const all = [...itemsOf(probe.body)];
    const cursor = stringField(probe.body ?? {}, 'next_cursor');
    if (cursor) all.push(...(await this.listAll('list agent deployments', '/v1/agent-deployments', {}, signal, cursor)));
    for (const deployment of all) {
      const id = stringField(deployment, 'id');
      if (id) this.deployments.set(id, deployment);
    }
    return all;
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

  /** ASSUMED route: GET /v1/agent-deployments/{id}. Undefined where it is missing (404/405): the service is still read. */
  private async getAgentDeployment(id: string, signal?: AbortSignal): Promise<Json | undefined> {
    const response = await this.http.request<Json>({ call: 'get agent deployment', method: 'GET', path: `/v1/agent-deployments/${enc(id)}`, accept: [404, 405], signal });
    if (response.status >= 300) return undefined;
    this.deployments.set(id, response.body);
    return response.body;
  }

  private remember(build: Build): Build {
    this.builds.set(build.id, build);
    return build;
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

  private async listAll(call: string, path: string, query: Record<string, string | undefined>, signal?: AbortSignal, from?: string): Promise<Json[]> {
    const all: Json[] = [];
    let cursor: string | undefined = from;
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
    sourceRepo: stringOf(metadata.source_repo),
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

function isDeleted(deployment: Json): boolean {
  return String(deployment.status ?? '').toLowerCase() === 'deleted' || Boolean(deployment.deleted_at);
}

function itemsOf(body: Json | undefined): Json[] {
  return Array.isArray(body?.items) ? (body.items as Json[]) : [];
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
