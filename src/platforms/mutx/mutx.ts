import { ApiError, UnsupportedError } from '../../errors.js';
import { HttpClient } from '../../http/client.js';
import { redact } from '../../secrets/redact.js';
import type {
  Build,
  BuildRequest,
  CallOptions,
  DeployEvent,
  DeployRequest,
  Deployment,
  DeploymentFilter,
  LogCursor,
  LogLine,
  Platform,
  PlatformCapabilities,
  UploadOptions,
} from '../platform.js';
import type { PlatformClientOptions } from '../settings.js';
import { type Json, newestFirst, stringField } from '../records.js';
import { resolveMutxSettings, type MutxSettingsInput } from './config.js';
import { RESTARTABLE_STATUSES, SCALABLE_STATUSES, deployPhase } from './status.js';

/*
 * MUTX (FastAPI) deployments API, routes under `/v1`:
 *   POST /v1/agents {name, description, type, config} → 201 agent
 *   GET  /v1/agents?skip&limit, GET /v1/agents/{id}
 *   POST /v1/deployments {agent_id, replicas 1..10} → 201 deployment (status pending)
 *   GET  /v1/deployments?skip&limit&agent_id&status → {items, total, skip, limit, has_more}
 *   GET  /v1/deployments/{id}, …/events (newest first), …/logs (newest first), …/metrics
 *   POST /v1/deployments/{id}/restart (only stopped, failed, killed), …/scale (only running, ready)
 *   DELETE /v1/deployments/{id} → 204, marks it killed and the parent agent stopped
 *
 * MUTX runs an already pushed image and has no build API, no URL and no label on deployments.
 * Mapping:
 * - a preview is an agent of its own, named `<agent>-<label>`, whose config carries
 *   {preview_label, agent_name, image} (repeated in a tag in its description, since the API may
 *   drop config fields its per-type schema does not know); a real deploy uses an agent named
 *   after the agent itself. The image lives on the agent, so an agent is reused only for the same
 *   name and image; a new image gets a new agent of the same name;
 * - a deployment is a MUTX deployment of that agent, created with `POST /v1/deployments`.
 * Teardown kills the deployment; the preview agent stays (the deployments reference documents no
 * agent deletion), stopped, and is reused by the next deploy of the same preview.
 * List routes are read both as the `{items, …, has_more}` envelope and as a bare array (older API).
 */

export interface MutxPlatformOptions extends MutxSettingsInput, PlatformClientOptions {
  /** Agent `type` sent on create; MUTX knows openai, anthropic, langchain and custom. */
  agentType?: string;
}

/** The API caps list pages at 100. */
const PAGE_LIMIT = 100;
/** Logs and events allow 500 a page. */
const LOG_PAGE_LIMIT = 500;
/** Stops a server that always says has_more from looping forever. */
const MAX_PAGES = 200;
const NAME_MAX = 100;

export class MutxPlatform implements Platform {
  readonly name = 'mutx';
  readonly capabilities: PlatformCapabilities = {
    // Deployments take an already pushed image: there is no build API.
    serverBuild: false,
    buildLogStream: false,
    reuseByTreeHash: false,
    // Deployments carry no URL: the preview link comes from a URL template.
    deploymentUrl: false,
    // Deployments carry no expiry; the sweep tears previews down.
    previewExpiry: false,
  };
  readonly http: HttpClient;
  private readonly agentType: string;
  /** agent id → agent record, learnt from creates and lists. */
  private readonly agents = new Map<string, Json>();

  constructor(options: MutxPlatformOptions = {}) {
    const settings = resolveMutxSettings(options, options.env);
    this.agentType = options.agentType ?? 'custom';
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers: { authorization: `Bearer ${settings.apiKey}`, 'user-agent': 'agent-preview' },
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
  }

  async findReusableBuild(_agentName: string, _treeHash: string, _options?: CallOptions): Promise<Build | undefined> {
    return undefined;
  }

  async createBuild(_request: BuildRequest, _options?: UploadOptions): Promise<Build> {
    throw new UnsupportedError('MUTX has no build API: push the image yourself and deploy it by name and tag');
  }

  async getBuild(_id: string, _options?: CallOptions): Promise<Build> {
    throw new UnsupportedError('MUTX has no build API, so there are no builds to read');
  }

  async cancelBuild(_id: string, _options?: CallOptions): Promise<void> {
    throw new UnsupportedError('MUTX has no build API, so there are no builds to cancel');
  }

  async streamBuildLogs(_id: string, _onLine: (line: string) => void, _options?: CallOptions & { resume?: LogCursor }): Promise<LogCursor> {
    throw new UnsupportedError('MUTX has no build API, so there are no build logs to stream');
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    const agent = await this.ensureAgent(request, options);
    const agentId = String(agent.id);
    const existingIds = new Set((await this.listAgentDeployments(agentId, options.signal)).map((raw) => String(raw.id)));
    const response = await this.http.request<Json>({
      call: 'create deployment',
      method: 'POST',
      path: '/v1/deployments',
      json: { agent_id: agentId, replicas: 1 },
      idempotent: false,
      // After an ambiguous failure, a deployment of this agent that appeared is ours.
      reconcile: async () => {
        const after = await this.listAgentDeployments(agentId, options.signal);
        return after.find((raw) => !existingIds.has(String(raw.id)));
      },
      signal: options.signal,
    });
    return toDeployment(response.body, agent);
  }

  async getDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    const raw = await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/v1/deployments/${encodeURIComponent(id)}`, signal: options.signal });
    const agent = await this.agentOf(raw, options.signal);
    if (!Array.isArray(raw.events)) raw.events = await this.events(id, options.signal);
    return toDeployment(raw, agent);
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    // MUTX has no builds: no deployment came from one.
    if (filter.buildId) return [];
    const label = filter.previewLabel === undefined ? undefined : previewLabelOf(filter.previewLabel);
    const agents = (await this.listAll('list agents', '/v1/agents', {}, options.signal)).filter((agent) => {
      this.agents.set(String(agent.id), agent);
      if (label !== undefined && agentLabel(agent) !== label) return false;
      if (filter.agentName && agentNameOf(agent) !== filter.agentName) return false;
      return true;
    });
    const deployments: Deployment[] = [];
    for (const agent of agents) {
      for (const raw of await this.listAgentDeployments(String(agent.id), options.signal)) deployments.push(toDeployment(raw, agent));
    }
    return deployments.sort(newestFirst);
  }

  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const path = `/v1/deployments/${encodeURIComponent(id)}`;
    // DELETE answers 204 even for a deployment already killed, so look first.
    const current = await this.http.request<Json>({ call: 'get deployment', method: 'GET', path, accept: [404], signal: options.signal });
    if (current.status === 404) return 'already-gone';
    const status = String(current.body?.status ?? '').toLowerCase();
    if (status === 'killed' || status === 'stopped') return 'already-gone';
    const response = await this.http.request<Json>({ call: 'delete deployment', method: 'DELETE', path, accept: [404, 410], signal: options.signal });
    return response.status === 404 || response.status === 410 ? 'already-gone' : 'deleted';
  }

  /**
   * The deployment's agent log lines and its lifecycle events (both newest first on the API),
   * merged oldest first. Events are where a failure's `error_message` shows up.
   */
  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    const maxLines = options.maxLines ?? 2000;
    const lines: LogLine[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Json | Json[]>({
        call: 'get deployment logs',
        method: 'GET',
        path: `/v1/deployments/${encodeURIComponent(id)}/logs`,
        query: { skip: page * LOG_PAGE_LIMIT, limit: LOG_PAGE_LIMIT },
        signal: options.signal,
      });
      const items = itemsOf(body);
      for (const raw of items) {
        lines.push({ message: String(raw.message ?? ''), level: stringField(raw, 'level'), timestamp: stringField(raw, 'timestamp', 'created_at') });
      }
      if (!hasMore(body, items.length, LOG_PAGE_LIMIT) || lines.length >= maxLines * 4) break;
    }
    for (const event of (await this.events(id, options.signal)).map(toEvent)) {
      lines.push({ message: event.message, level: event.type === 'failed' || event.reason ? 'event:error' : 'event', timestamp: event.timestamp });
    }
    const ordered = lines
      .map((line, index) => ({ line, index }))
      // Stable: equal or missing timestamps keep the API's order reversed (it sends newest first).
      .sort((a, b) => compareTime(a.line.timestamp, b.line.timestamp) || b.index - a.index)
      .map(({ line }) => line);
    return ordered.length > maxLines ? ordered.slice(ordered.length - maxLines) : ordered;
  }

  /** Restarts a stopped, failed or killed deployment; any other status is refused by the API with 400. */
  async restartDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    const path = `/v1/deployments/${encodeURIComponent(id)}/restart`;
    const response = await this.http.request<Json>({ call: 'restart deployment', method: 'POST', path, accept: [400], idempotent: true, signal: options.signal });
    if (response.status === 400) {
      throw illegalState(`POST ${path} (restart deployment)`, response.body, `only ${[...RESTARTABLE_STATUSES].join(', ')} deployments can be restarted`);
    }
    return toDeployment(response.body, await this.agentOf(response.body, options.signal));
  }

  /** Changes the replica count (1..10) of a running or ready deployment; the API refuses others with 400. */
  async scaleDeployment(id: string, replicas: number, options: CallOptions = {}): Promise<Deployment> {
    const path = `/v1/deployments/${encodeURIComponent(id)}/scale`;
    const response = await this.http.request<Json>({
      call: 'scale deployment',
      method: 'POST',
      path,
      json: { replicas },
      accept: [400],
      idempotent: true,
      signal: options.signal,
    });
    if (response.status === 400) {
      throw illegalState(`POST ${path} (scale deployment)`, response.body, `only ${[...SCALABLE_STATUSES].join(' or ')} deployments can be scaled`);
    }
    return toDeployment(response.body, await this.agentOf(response.body, options.signal));
  }

  /** The agent this deploy runs under: found by name, or created. */
  private async ensureAgent(request: DeployRequest, options: CallOptions): Promise<Json> {
    const label = request.preview ? previewLabelOf(request.preview.label) : undefined;
    const name = label ? previewAgentName(request.agentName, label) : request.agentName;
    const image = request.image ? `${request.image.name}:${request.image.tag}` : undefined;
    // The image lives on the agent: an agent of this name running another image is not reused.
    const repo = request.sourceRepo;
    const existing = await this.findAgent(name, label, request.agentName, image, repo, options.signal);
    if (existing) return existing;
    const config: Json = { agent_name: request.agentName };
    if (label) config.preview_label = label;
    if (image) config.image = image;
    if (repo) config.source_repo = repo;
    const response = await this.http.request<Json>({
      call: 'create agent',
      method: 'POST',
      path: '/v1/agents',
      json: {
        name,
        description: describeAgent(request.agentName, label, image, repo),
        type: this.agentType,
        config,
      },
      idempotent: false,
      reconcile: () => this.findAgent(name, label, request.agentName, image, repo, options.signal),
      signal: options.signal,
    });
    this.agents.set(String(response.body.id), response.body);
    return response.body;
  }

  private async findAgent(name: string, label: string | undefined, agentName: string, image: string | undefined, repo: string | undefined, signal?: AbortSignal): Promise<Json | undefined> {
    const agents = await this.listAll('list agents', '/v1/agents', {}, signal);
    for (const agent of agents) this.agents.set(String(agent.id), agent);
    return agents
      .filter((agent) => agent.name === name || (label !== undefined && agentLabel(agent) === label && agentNameOf(agent) === agentName))
      .filter((agent) => agentImage(agent) === image)
      // Another repository's preview of the same agent and label is never taken over.
      .filter((agent) => (agentRepo(agent) ?? '').toLowerCase() === (repo ?? '').toLowerCase())
      .sort(newestRecordFirst)[0];
  }

  private async agentOf(raw: Json, signal?: AbortSignal): Promise<Json | undefined> {
    const agentId = stringField(raw, 'agent_id');
    if (!agentId) return undefined;
    const known = this.agents.get(agentId);
    if (known) return known;
    const response = await this.http.request<Json>({ call: 'get agent', method: 'GET', path: `/v1/agents/${encodeURIComponent(agentId)}`, accept: [404], signal });
    if (response.status === 404) return undefined;
    this.agents.set(agentId, response.body);
    return response.body;
  }

  private listAgentDeployments(agentId: string, signal?: AbortSignal): Promise<Json[]> {
    return this.listAll('list deployments', '/v1/deployments', { agent_id: agentId }, signal);
  }

  /** Lifecycle events of a deployment, as the API sends them (newest first), across all pages. */
  private async events(id: string, signal?: AbortSignal): Promise<Json[]> {
    const all: Json[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Json | Json[]>({
        call: 'get deployment events',
        method: 'GET',
        path: `/v1/deployments/${encodeURIComponent(id)}/events`,
        query: { skip: page * LOG_PAGE_LIMIT, limit: LOG_PAGE_LIMIT },
        signal,
      });
      const items = itemsOf(body);
      all.push(...items);
      if (!hasMore(body, items.length, LOG_PAGE_LIMIT)) break;
    }
    return all;
  }

  /** Every item of a skip/limit list route, whether it answers with the envelope or a bare array. */
  private async listAll(call: string, path: string, query: Record<string, string | undefined>, signal?: AbortSignal): Promise<Json[]> {
    const all: Json[] = [];
    const seen = new Set<string>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Json | Json[]>({ call, method: 'GET', path, query: { ...query, skip: page * PAGE_LIMIT, limit: PAGE_LIMIT }, signal });
      const items = itemsOf(body);
      let fresh = 0;
      for (const item of items) {
        const id = String(item.id ?? '');
        if (id && seen.has(id)) continue;
        seen.add(id);
        all.push(item);
        fresh++;
      }
      // A page of nothing new (a server ignoring skip) ends the walk too.
      if (!fresh || !hasMore(body, items.length, PAGE_LIMIT)) break;
    }
    return all;
  }
}

/** The label as it is stored in agent names and config: lower case, letters, digits and dashes. */
export function previewLabelOf(label: string): string {
  return label
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/** `<agent>-<label>`, the name of a preview's own agent. */
export function previewAgentName(agentName: string, label: string): string {
  const suffix = `-${previewLabelOf(label)}`;
  return `${agentName.slice(0, Math.max(1, NAME_MAX - suffix.length))}${suffix}`;
}

export function toDeployment(raw: Json, agent?: Json): Deployment {
  const rawStatus = stringField(raw, 'status') ?? 'unknown';
  const events: Json[] = Array.isArray(raw.events) ? (raw.events as Json[]) : [];
  const mapped = events.map(toEvent).sort((a, b) => compareTime(a.timestamp, b.timestamp));
  const errorMessage = stringField(raw, 'error_message');
  if (errorMessage && !mapped.some((event) => event.message.includes(errorMessage))) {
    mapped.push({ type: 'error', reason: rawStatus, message: errorMessage, timestamp: stringField(raw, 'ended_at') });
  }
  return {
    id: stringField(raw, 'id', 'deployment_id') ?? '',
    phase: deployPhase(rawStatus),
    rawStatus,
    agentName: agent ? agentNameOf(agent) : undefined,
    previewLabel: agent ? agentLabel(agent) : undefined,
    createdAt: stringField(raw, 'created_at', 'started_at'),
    release: agent ? stringField(agent, 'name') : undefined,
    sourceRepo: agent ? agentRepo(agent) : undefined,
    events: mapped,
  };
}

function toEvent(raw: Json): DeployEvent {
  const type = stringField(raw, 'event_type', 'type');
  const status = stringField(raw, 'status');
  const error = stringField(raw, 'error_message');
  const head = [type, status && status !== type ? status : undefined].filter(Boolean).join(': ');
  return {
    type,
    reason: error ? status : undefined,
    message: [head, error].filter(Boolean).join(' - ') || 'event',
    timestamp: stringField(raw, 'created_at', 'timestamp'),
  };
}

function illegalState(call: string, body: unknown, rule: string): ApiError {
  const detail = body && typeof body === 'object' && typeof (body as Json).detail === 'string' ? String((body as Json).detail) : 'refused';
  return new ApiError(call, 400, redact(`${detail} (${rule}; check the deployment's status first)`));
}

function agentConfig(agent: Json): Json {
  const config = agent.config;
  if (config && typeof config === 'object' && !Array.isArray(config)) return config as Json;
  if (typeof config === 'string') {
    try {
      const parsed = JSON.parse(config);
      if (parsed && typeof parsed === 'object') return parsed as Json;
    } catch {
      // not JSON: no config
    }
  }
  return {};
}

/**
 * Agent descriptions repeat what the config carries, in a tag we can parse back, because the API
 * validates `config` against a per-type schema and may drop fields it does not know.
 */
const DESCRIPTION_TAG = /\[agent-preview agent=(\S+) label=(\S*) image=(\S*)(?: repo=(\S*))?\]/;

export function describeAgent(agentName: string, label: string | undefined, image: string | undefined, repo?: string): string {
  const head = label ? `Preview ${label} of ${agentName}` : agentName;
  return `${head}${image ? ` (${image})` : ''} [agent-preview agent=${agentName} label=${label ?? ''} image=${image ?? ''}${repo ? ` repo=${repo}` : ''}]`;
}

function descriptionTag(agent: Json): { agentName: string; label?: string; image?: string; repo?: string } | undefined {
  const match = DESCRIPTION_TAG.exec(stringField(agent, 'description') ?? '');
  return match ? { agentName: match[1], label: match[2] || undefined, image: match[3] || undefined, repo: match[4] || undefined } : undefined;
}

function agentRepo(agent: Json): string | undefined {
  return stringField(agentConfig(agent), 'source_repo') ?? descriptionTag(agent)?.repo;
}

function agentLabel(agent: Json): string | undefined {
  return stringField(agentConfig(agent), 'preview_label') ?? descriptionTag(agent)?.label;
}

function agentNameOf(agent: Json): string | undefined {
  return stringField(agentConfig(agent), 'agent_name') ?? descriptionTag(agent)?.agentName ?? stringField(agent, 'name');
}

function agentImage(agent: Json): string | undefined {
  return stringField(agentConfig(agent), 'image') ?? descriptionTag(agent)?.image;
}

function itemsOf(body: Json | Json[] | undefined): Json[] {
  if (Array.isArray(body)) return body;
  return Array.isArray(body?.items) ? (body.items as Json[]) : [];
}

function hasMore(body: Json | Json[] | undefined, count: number, limit: number): boolean {
  if (Array.isArray(body) || body?.has_more === undefined) return count >= limit;
  return body.has_more === true;
}

function compareTime(a: string | undefined, b: string | undefined): number {
  const ta = a ? Date.parse(a) : NaN;
  const tb = b ? Date.parse(b) : NaN;
  if (Number.isNaN(ta) || Number.isNaN(tb)) return 0;
  return ta - tb;
}

function newestRecordFirst(a: Json, b: Json): number {
  return compareTime(stringField(b, 'created_at'), stringField(a, 'created_at'));
}
