import { InputError } from '../../errors.js';
import { HttpClient } from '../../http/client.js';
import type { CallOptions, DeployEvent, DeployRequest, Deployment, DeploymentFilter, LabelRule, LogLine, Platform, PlatformCapabilities } from '../platform.js';
import type { PlatformClientOptions } from '../settings.js';
import { type Json, newestFirst, stringField } from '../records.js';
import { resolveMutxSettings, type MutxSettingsInput } from './config.js';
import { LIVE_STATUSES, deployPhase } from './status.js';
import { MUTX_CONVERSATION_UNSUPPORTED } from './conversation.js';

/*
 * MUTX (FastAPI), routes under `/v1`, as mutx-dev/mutx-dev@abdc97527b57fbb7db62bd7b5f28235ae4150c00
 * defines them (cited as `@abdc975:file`):
 *   POST   /v1/agents {name ≤255, description ≤1000, type, config} → 201 agent (agents.py create_agent)
 *   GET    /v1/agents?skip&limit≤100 → {items, total, skip, limit, has_more}, newest first
 *   DELETE /v1/agents/{id} → 204; its deployments go with it (agents.py delete_agent; models.py
 *          Agent.deployments cascade="all, delete-orphan")
 *   POST   /v1/deployments {agent_id, replicas 1..10} → 201 deployment, status pending (deployments.py)
 *   GET    /v1/deployments?skip&limit&agent_id&status, GET …/{id}, …/{id}/events, …/{id}/logs
 *   DELETE /v1/deployments/{id} → 204, marks it killed and its agent stopped
 *
 * An agent's `config` is checked against its type's model, and every model is `extra="forbid"`
 * (@abdc975:src/api/models/schemas.py): a `custom` agent takes `name`, `system_prompt`, `version`,
 * `image` (required), `command`, `env`, and anything else is refused with 400 "Configuration
 * validation failed". So the config carries only the image; what we need to find a preview again
 * (agent, label, repository) lives where MUTX has room for it: the agent's `name` and `description`.
 *
 * MUTX runs an already pushed image: it has no build API, no URL and no label on deployments.
 * Mapping:
 * - a preview is an agent of its own, named `<agent>-<label>`, type `custom`, config `{image}`; a
 *   real deploy uses an agent named after the agent itself. The image lives on the agent, so an
 *   agent is reused only for the same name, image and repository; a new image gets a new agent,
 *   and the old one goes when the old preview is replaced;
 * - a deployment is a MUTX deployment of that agent. A deploy of an agent that already has a live
 *   deployment reuses it instead of starting a second one.
 * Deleting a deployment kills it and then deletes its agent once the agent has no live deployment
 * left, so a closed preview leaves nothing on the account. An agent left with no live deployment
 * (a kill whose agent delete failed) is listed as a `leftover agent` so that a teardown removes it.
 */

export interface MutxPlatformOptions extends MutxSettingsInput, PlatformClientOptions {}

/** `limit` is at most 100 on agents and deployments (`Query(50, ge=1, le=100)`). */
const PAGE_LIMIT = 100;
/** Logs and events allow 500 a page. */
const LOG_PAGE_LIMIT = 500;
/** Stops a server that always says has_more from looping forever. */
const MAX_PAGES = 200;
/** `AgentCreate.name` max_length (@abdc975:src/api/models/schemas.py). */
const NAME_MAX = 255;
/** `AgentCreate.description` max_length. */
const DESCRIPTION_MAX = 1000;
/** Our own cap, so that `<agent>-<label>` stays well inside the name's 255 characters. */
const LABEL_MAX = 63;
/** The id of a listed agent that has no deployment left to delete, only itself. */
const LEFTOVER_PREFIX = 'agent:';

/**
 * MUTX's preview labels. MUTX has no label of its own: the label goes into the agent's name
 * (any text up to 255 characters) and into the description's tag, which is read back by splitting
 * on spaces; so lowercase letters, digits and hyphens, at most 63 characters (our cap).
 */
export const MUTX_LABEL_RULE: LabelRule = {
  sanitize: (input) =>
    input
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/-+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, LABEL_MAX)
      .replace(/-+$/, ''),
  description: `lowercase letters, digits and hyphens, at most ${LABEL_MAX} characters`,
};

export class MutxPlatform implements Platform {
  readonly name = 'mutx';
  readonly capabilities: PlatformCapabilities = {
    // Deployments carry no URL: the preview link comes from a URL template.
    deploymentUrl: false,
    // Deployments carry no expiry; a preview goes when its pull request closes, or by the sweep.
    previewExpiry: false,
  };
  readonly labelRule = MUTX_LABEL_RULE;
  /** No documented way to send a preview a message (conversation.ts). */
  readonly conversationUnsupported = MUTX_CONVERSATION_UNSUPPORTED;
  readonly http: HttpClient;
  /** agent id → agent record, learnt from creates and lists. */
  private readonly agents = new Map<string, Json>();

  constructor(options: MutxPlatformOptions = {}) {
    const settings = resolveMutxSettings(options, options.env);
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers: { authorization: `Bearer ${settings.apiKey}`, 'user-agent': 'agent-preview' },
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    const agent = await this.ensureAgent(request, options);
    const agentId = String(agent.id);
    const before = await this.listAgentDeployments(agentId, options.signal);
    // The same agent (so the same image) already running or on its way: that is this deploy.
    const live = before.find((raw) => LIVE_STATUSES.has(String(raw.status ?? '').toLowerCase()));
    if (live) return toDeployment(live, agent);
    const existingIds = new Set(before.map((raw) => String(raw.id)));
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
    if (id.startsWith(LEFTOVER_PREFIX)) {
      const agent = await this.getAgent(id.slice(LEFTOVER_PREFIX.length), options.signal);
      if (!agent) return { id, phase: 'deleted', rawStatus: 'agent deleted', events: [] };
      return leftoverAgent(agent);
    }
    const raw = await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/v1/deployments/${encodeURIComponent(id)}`, signal: options.signal });
    const agent = await this.agentOf(raw, options.signal);
    if (!Array.isArray(raw.events) || raw.events.length === 0) raw.events = await this.events(id, options.signal);
    return toDeployment(raw, agent);
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    // MUTX has no builds: no deployment came from one.
    if (filter.buildId) return [];
    const label = filter.previewLabel === undefined ? undefined : MUTX_LABEL_RULE.sanitize(filter.previewLabel);
    const agents = (await this.listAll('list agents', '/v1/agents', {}, options.signal)).filter((agent) => {
      this.agents.set(String(agent.id), agent);
      const tag = descriptionTag(agent);
      // Only agents this tool made (they carry its tag) are previews or deploys of ours.
      if (!tag) return false;
      if (label !== undefined && tag.label !== label) return false;
      if (filter.agentName && tag.agentName !== filter.agentName) return false;
      return true;
    });
    const deployments: Deployment[] = [];
    for (const agent of agents) {
      const own = await this.listAgentDeployments(String(agent.id), options.signal);
      for (const raw of own) deployments.push(toDeployment(raw, agent));
      const isPreview = descriptionTag(agent)?.label !== undefined;
      if (isPreview && !own.some((raw) => LIVE_STATUSES.has(String(raw.status ?? '').toLowerCase()) || String(raw.status ?? '').toLowerCase() === 'failed')) {
        deployments.push(leftoverAgent(agent));
      }
    }
    return deployments.sort(newestFirst);
  }

  /**
   * Kills the deployment, then deletes its agent once the agent has nothing live left, so a
   * preview leaves no agent behind. `already-gone` when there was nothing to kill (the agent, if
   * it was still there, is deleted all the same).
   */
  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    if (id.startsWith(LEFTOVER_PREFIX)) {
      return (await this.deleteAgent(id.slice(LEFTOVER_PREFIX.length), options.signal)) ? 'deleted' : 'already-gone';
    }
    const path = `/v1/deployments/${encodeURIComponent(id)}`;
    // DELETE answers 204 even for a deployment already killed (deployments.py kill_deployment), so look first.
    const current = await this.http.request<Json>({ call: 'get deployment', method: 'GET', path, accept: [404], signal: options.signal });
    if (current.status === 404) return 'already-gone';
    const agentId = stringField(current.body, 'agent_id');
    const status = String(current.body?.status ?? '').toLowerCase();
    let result: 'deleted' | 'already-gone' = 'already-gone';
    if (status !== 'killed' && status !== 'stopped') {
      const response = await this.http.request<Json>({ call: 'delete deployment', method: 'DELETE', path, accept: [404], idempotent: true, signal: options.signal });
      result = response.status === 404 ? 'already-gone' : 'deleted';
    }
    if (agentId) {
      const rest = await this.http.request<Json>({
        call: 'list deployments',
        method: 'GET',
        path: '/v1/deployments',
        query: { agent_id: agentId, skip: 0, limit: PAGE_LIMIT },
        accept: [404],
        signal: options.signal,
      });
      const others = rest.status === 404 ? [] : itemsOf(rest.body).filter((raw) => String(raw.id) !== id);
      if (!others.some((raw) => LIVE_STATUSES.has(String(raw.status ?? '').toLowerCase()))) await this.deleteAgent(agentId, options.signal);
    }
    return result;
  }

  /**
   * The deployment's agent log lines and its lifecycle events (both newest first on the API),
   * merged oldest first. Events are where a failure's `error_message` shows up.
   */
  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    if (id.startsWith(LEFTOVER_PREFIX)) return [];
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

  /** The agent this deploy runs under: found by its tag, or created. */
  private async ensureAgent(request: DeployRequest, options: CallOptions): Promise<Json> {
    const label = request.preview ? MUTX_LABEL_RULE.sanitize(request.preview.label) : undefined;
    const name = label ? previewAgentName(request.agentName, label) : request.agentName.slice(0, NAME_MAX);
    const image = request.image ? `${request.image.name}:${request.image.tag}` : undefined;
    if (!image) throw new InputError('MUTX runs pushed images: the deploy needs an image (name:tag)', { field: 'image' });
    const wanted: AgentTag = { agentName: request.agentName, label, repo: request.sourceRepo };
    const existing = await this.findAgent(wanted, image, options.signal);
    if (existing) return existing;
    const response = await this.http.request<Json>({
      call: 'create agent',
      method: 'POST',
      path: '/v1/agents',
      // `custom` runs an image; the default type is openai, whose config has no image.
      json: { name, description: describeAgent(wanted, image), type: 'custom', config: { image } },
      idempotent: false,
      reconcile: () => this.findAgent(wanted, image, options.signal),
      signal: options.signal,
    });
    this.agents.set(String(response.body.id), response.body);
    return response.body;
  }

  private async findAgent(wanted: AgentTag, image: string, signal?: AbortSignal): Promise<Json | undefined> {
    const agents = await this.listAll('list agents', '/v1/agents', {}, signal);
    for (const agent of agents) this.agents.set(String(agent.id), agent);
    return agents
      .filter((agent) => {
        const tag = descriptionTag(agent);
        // Another repository's preview of the same agent and label is never taken over.
        return tag && tag.agentName === wanted.agentName && tag.label === wanted.label && (tag.repo ?? '').toLowerCase() === (wanted.repo ?? '').toLowerCase();
      })
      .filter((agent) => agentImage(agent) === image)
      .sort(newestRecordFirst)[0];
  }

  private async getAgent(agentId: string, signal?: AbortSignal): Promise<Json | undefined> {
    const response = await this.http.request<Json>({ call: 'get agent', method: 'GET', path: `/v1/agents/${encodeURIComponent(agentId)}`, accept: [404], signal });
    if (response.status === 404) return undefined;
    this.agents.set(agentId, response.body);
    return response.body;
  }

  /** Deletes an agent and, with it, its deployments; false when it was already gone. */
  private async deleteAgent(agentId: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.http.request({
      call: 'delete agent',
      method: 'DELETE',
      path: `/v1/agents/${encodeURIComponent(agentId)}`,
      accept: [404],
      idempotent: true,
      signal,
    });
    this.agents.delete(agentId);
    return response.status !== 404;
  }

  private async agentOf(raw: Json, signal?: AbortSignal): Promise<Json | undefined> {
    const agentId = stringField(raw, 'agent_id');
    if (!agentId) return undefined;
    return this.agents.get(agentId) ?? this.getAgent(agentId, signal);
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

  /** Every item of a skip/limit list route. */
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

/** `<agent>-<label>`, the name of a preview's own agent, within the 255 characters a name may have. */
export function previewAgentName(agentName: string, label: string): string {
  const suffix = `-${MUTX_LABEL_RULE.sanitize(label)}`;
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
  const tag = agent ? descriptionTag(agent) : undefined;
  return {
    id: stringField(raw, 'id', 'deployment_id') ?? '',
    phase: deployPhase(rawStatus),
    rawStatus,
    agentName: tag?.agentName ?? (agent ? stringField(agent, 'name') : undefined),
    previewLabel: tag?.label,
    createdAt: stringField(raw, 'started_at', 'created_at'),
    release: agent ? stringField(agent, 'name') : undefined,
    sourceRepo: tag?.repo,
    events: mapped,
  };
}

/** A preview agent with no deployment left: listed so that a teardown deletes it. */
function leftoverAgent(agent: Json): Deployment {
  const tag = descriptionTag(agent);
  return {
    id: `${LEFTOVER_PREFIX}${String(agent.id)}`,
    phase: 'failed',
    rawStatus: `agent ${String(agent.status ?? 'stopped')}, no running deployment`,
    agentName: tag?.agentName,
    previewLabel: tag?.label,
    createdAt: stringField(agent, 'created_at'),
    release: stringField(agent, 'name'),
    sourceRepo: tag?.repo,
    events: [],
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

interface AgentTag {
  agentName: string;
  label?: string;
  repo?: string;
}

/**
 * What a preview agent is, in a tag at the end of its description that we parse back: MUTX has no
 * field for it (its config forbids unknown keys) and lists agents with their description.
 */
const DESCRIPTION_TAG = /\[agent-preview agent=(\S+) label=(\S*)(?: repo=(\S*))?\]$/;

export function describeAgent(tag: AgentTag, image: string): string {
  const marker = `[agent-preview agent=${tag.agentName} label=${tag.label ?? ''}${tag.repo ? ` repo=${tag.repo}` : ''}]`;
  const head = `${tag.label ? `Preview ${tag.label} of ${tag.agentName}` : tag.agentName} (${image})`;
  const room = DESCRIPTION_MAX - marker.length - 1;
  return `${head.length > room ? `${head.slice(0, room - 1)}…` : head} ${marker}`;
}

function descriptionTag(agent: Json): AgentTag | undefined {
  const match = DESCRIPTION_TAG.exec(stringField(agent, 'description') ?? '');
  return match ? { agentName: match[1], label: match[2] || undefined, repo: match[3] || undefined } : undefined;
}

/** The image of a `custom` agent, from its (normalised) config. */
function agentImage(agent: Json): string | undefined {
  let config = agent.config;
  if (typeof config === 'string') {
    try {
      config = JSON.parse(config);
    } catch {
      return undefined;
    }
  }
  return config && typeof config === 'object' && !Array.isArray(config) ? stringField(config as Json, 'image') : undefined;
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
