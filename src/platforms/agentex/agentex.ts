import { parse as parseYaml } from 'yaml';
import { ApiError } from '../../errors.js';
import { HttpClient } from '../../http/client.js';
import { multipartBody } from '../../http/multipart.js';
import { readServerSentEvents } from '../../http/sse.js';
import { redact, urlCarriesCredential } from '../../secrets/redact.js';
import type {
  Build,
  Builder,
  BuildRequest,
  CallOptions,
  Conversations,
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
import { GONE_DEPLOY_PHASES } from '../platform.js';
import { NO_AGENTEX_SERVER, resolveAgentexServerUrl, resolveAgentexSettings, type AgentexSettingsInput } from './config.js';
import { AgentexConversations } from './conversation.js';
import { AGENTEX_LABEL_RULE, sanitizePreviewLabel } from './label.js';
import { buildPhase, deployPhase } from './status.js';

export interface AgentexPlatformOptions extends AgentexSettingsInput, PlatformClientOptions {
  /** Platform name reported to users; `local` when talking to the embedded server. */
  name?: string;
  /** The embedded local platform adds a `url` to each deployment; the hosted API does not. */
  deploymentsCarryUrl?: boolean;
  /** The Agentex server that holds conversations with previews; else `AGENTEX_BASE_URL`; without either, previews cannot be talked to. */
  agentexUrl?: string;
}

const PAGE_LIMIT = 100;
/** Stops a runaway cursor (a server that always says has_more) from looping forever. */
const MAX_PAGES = 200;
const LOG_PAGE_LIMIT = 500;

interface Page {
  items: Json[];
  has_more?: boolean;
}

/** Scale GP Agentex Cloud Build & Deploy, v5. */
export class AgentexPlatform implements Platform, Builder {
  readonly name: string;
  readonly capabilities: PlatformCapabilities;
  /** Agentex builds from an uploaded context, finds builds by tree hash, streams and cancels them. */
  readonly builder: Builder = this;
  readonly labelRule = AGENTEX_LABEL_RULE;
  readonly http: HttpClient;
  /** Present when the Agentex server's address is known (`conversation.ts`). */
  readonly conversation?: Conversations;
  readonly conversationUnsupported?: string;
  /** agent_name → agent_id, learnt from earlier builds (newer APIs reject agent_name for existing agents). */
  private readonly agentIds = new Map<string, string>();

  constructor(options: AgentexPlatformOptions = {}) {
    const settings = resolveAgentexSettings(options, options.env);
    this.name = options.name ?? 'agentex';
    this.capabilities = {
      deploymentUrl: options.deploymentsCarryUrl ?? false,
      previewExpiry: true,
    };
    const headers: Record<string, string> = { 'x-api-key': settings.apiKey, 'user-agent': 'agent-preview' };
    if (settings.accountId) headers['x-selected-account-id'] = settings.accountId;
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
    // The Agentex server takes the same x-api-key and x-selected-account-id headers as the SGP API (PLATFORMS.md, "Talking to a deployed agent").
    const serverUrl = resolveAgentexServerUrl(options.agentexUrl, options.env);
    if (serverUrl) {
      this.conversation = new AgentexConversations(new HttpClient({ baseUrl: serverUrl, headers, retry: options.retry, timeoutMs: options.timeoutMs, onRetry: options.onRetry }));
    } else this.conversationUnsupported = NO_AGENTEX_SERVER;
  }

  async findReusableBuild(agentName: string, treeHash: string, options: CallOptions & { accept?: (build: Build) => boolean } = {}): Promise<Build | undefined> {
    // The newest page of this tree's builds (100, the most GET /v5/builds takes): a newer build that
    // `accept` refuses (one recorded for another repository) does not hide an older one it takes.
    const page = await this.http.json<Page>({
      call: 'list builds',
      method: 'GET',
      path: '/v5/builds',
      query: { agent_name: agentName, working_tree_hash: treeHash, limit: PAGE_LIMIT, sort_by: 'created_at', sort_order: 'desc' },
      signal: options.signal,
    });
    const builds = itemsOf(page).map(toBuild);
    for (const build of builds) this.learnAgentId(build);
    // Older servers ignore the filter: only a build that names this exact hash counts.
    return builds
      .filter((build) => build.phase === 'succeeded' && build.treeHash === treeHash && (!build.agentName || build.agentName === agentName))
      .sort(newestFirst)
      .find((build) => options.accept?.(build) ?? true);
  }

  async createBuild(request: BuildRequest, options: UploadOptions = {}): Promise<Build> {
    const before = await this.listBuildIds(request.agentName, request.treeHash, options.signal);
    // Newer APIs create an agent from agent_name and refuse agent_name once it exists (PLATFORMS.md,
    // "Newer SDKs: exactly one of agent_name / agent_id ... later builds send agent_id (take it from
    // an earlier build)"). Learn the id before the upload, so the archive is sent once, not once to be
    // refused and again with agent_id. The agentex-python SDK has no /v5/builds client to follow
    // (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:api.md lists none).
    const agentId = this.agentIds.get(request.agentName) ?? (await this.lookUpAgentId(request.agentName, options.signal));
    try {
      return await this.postBuild(request, agentId ? { agent_id: agentId } : { agent_name: request.agentName }, before, options);
    } catch (err) {
      // Only when another run created the agent between our look-up and this upload.
      if (!agentId && err instanceof ApiError && refusesAgentName(err)) {
        const learnt = await this.lookUpAgentId(request.agentName, options.signal);
        if (learnt) return this.postBuild(request, { agent_id: learnt }, before, options);
      }
      throw err;
    }
  }

  private async postBuild(request: BuildRequest, agent: { agent_name?: string; agent_id?: string }, existingIds: Set<string>, options: UploadOptions): Promise<Build> {
    const provenance = request.provenance ?? {};
    const body = multipartBody(
      {
        image_name: request.imageName,
        image_tag: request.imageTag,
        build_args: request.buildArgs && Object.keys(request.buildArgs).length ? JSON.stringify(request.buildArgs) : undefined,
        platform: request.platform,
        ...agent,
        source_commit: provenance.commit,
        source_dirty: provenance.dirty === undefined ? undefined : String(provenance.dirty),
        source_ref: provenance.ref,
        source_repo: provenance.repo,
        source_subpath: provenance.subpath,
        working_tree_hash: request.treeHash,
      },
      { field: 'context_archive', path: request.archivePath, filename: 'context.tar.gz', size: request.archiveBytes, contentType: 'application/gzip' },
      options.onUploadProgress,
    );
    const landed = async (signal?: AbortSignal) => {
      const after = await this.listBuilds(request.agentName, request.treeHash, signal);
      return after.find((candidate) => !existingIds.has(stringField(candidate, 'id', 'build_id') ?? ''));
    };
    let build: Json;
    try {
      build = await this.http.json<Json>({
        call: 'create build',
        method: 'POST',
        path: '/v5/builds',
        body,
        idempotent: false,
        // After an ambiguous failure (a 5xx or a reset mid-upload), a build that appeared is ours.
        reconcile: () => landed(options.signal),
        signal: options.signal,
        timeoutMs: 10 * 60_000,
      });
    } catch (err) {
      // Cancelled after the platform took the upload but before its answer came: the build runs
      // there unseen by the caller, so cancel it here.
      if (options.signal?.aborted) await this.cancelUnanswered(landed).catch(() => {});
      throw err;
    }
    const created = toBuild(build);
    this.learnAgentId(created);
    return created;
  }

  private async cancelUnanswered(landed: (signal?: AbortSignal) => Promise<Json | undefined>): Promise<void> {
    const signal = AbortSignal.timeout(15_000);
    const orphan = await landed(signal);
    const id = orphan && stringField(orphan, 'id', 'build_id');
    if (id) await this.cancelBuild(id, { signal });
  }

  async getBuild(id: string, options: CallOptions = {}): Promise<Build> {
    return toBuild(await this.http.json<Json>({ call: 'get build', method: 'GET', path: `/v5/builds/${encodeURIComponent(id)}`, signal: options.signal }));
  }

  async cancelBuild(id: string, options: CallOptions = {}): Promise<void> {
    await this.http.request({
      call: 'cancel build',
      method: 'POST',
      path: `/v5/builds/${encodeURIComponent(id)}/cancel`,
      // Cancelling twice does no harm.
      idempotent: true,
      signal: options.signal,
    });
  }

  async streamBuildLogs(id: string, onLine: (line: string) => void, options: CallOptions & { resume?: LogCursor } = {}): Promise<LogCursor> {
    const resume = options.resume;
    const cursor: LogCursor = { lines: resume?.lines ?? 0, lastEventId: resume?.lastEventId, ended: 'closed' };
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (resume?.lastEventId) headers['last-event-id'] = resume.lastEventId;
    let response;
    try {
      response = await this.http.request({
        call: 'stream build logs',
        method: 'GET',
        path: `/v5/builds/${encodeURIComponent(id)}/logs`,
        headers,
        stream: true,
        signal: options.signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return { ...cursor, ended: 'dropped', reason: (err as Error).message };
    }
    // A server that ignores Last-Event-ID replays from the start: skip what was already shown.
    let replayToSkip = resume?.lines ?? 0;
    const resumeId = numeric(resume?.lastEventId);
    try {
      for await (const event of readServerSentEvents(response.body)) {
        const eventId = numeric(event.id);
        if (resumeId !== undefined && eventId !== undefined) {
          if (eventId <= resumeId) continue;
        } else if (replayToSkip > 0) {
          replayToSkip--;
          continue;
        }
        const line = logLineOf(event.data);
        if (line === undefined) continue;
        cursor.lines++;
        if (event.id) cursor.lastEventId = event.id;
        onLine(line);
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return { ...cursor, ended: 'dropped', reason: redact((err as Error).message) };
    }
    return cursor;
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    // The platform stores the label sanitized, so a lost create is looked up by the sanitized one.
    const filter: DeploymentFilter = request.preview ? { previewLabel: sanitizePreviewLabel(request.preview.label).label } : { agentName: request.agentName };
    if (request.buildId) filter.buildId = request.buildId;
    const existingIds = new Set((await this.listDeployments(filter, options)).map((deployment) => deployment.id));
    const body: Json = {
      manifest_file: request.manifestText,
      environment_config: request.environmentText,
      preview: Boolean(request.preview),
    };
    if (request.buildId) body.build_id = request.buildId;
    else if (request.image) {
      body.image_name = request.image.name;
      body.image_tag = request.image.tag;
    }
    if (request.preview) {
      body.preview_label = request.preview.label;
      body.expires_at = request.preview.expiresAt.toISOString();
    }
    const response = await this.http.request<Json>({
      call: 'create deployment',
      method: 'POST',
      path: '/v5/agentex/deployments',
      json: body,
      idempotent: false,
      reconcile: async () => {
        const after = await this.listDeployments(filter, options);
        const landed = after.find((deployment) => !existingIds.has(deployment.id));
        return landed ? { id: landed.id } : undefined;
      },
      signal: options.signal,
    });
    if (response.reconciled) return this.getDeployment(String(response.body.id), options);
    return toDeployment(response.body);
  }

  async getDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    return toDeployment(await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/v5/agentex/deployments/${encodeURIComponent(id)}`, signal: options.signal }));
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    const items = await this.listAll(
      'list deployments',
      '/v5/agentex/deployments',
      {
        preview_label: filter.previewLabel,
        agent_name: filter.agentName,
        build_id: filter.buildId,
      },
      options.signal,
    );
    return items
      .map(toDeployment)
      .filter((deployment) => !filter.agentName || !deployment.agentName || deployment.agentName === filter.agentName)
      .sort(newestFirst);
  }

  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const response = await this.http.request<Json>({
      call: 'delete deployment',
      method: 'DELETE',
      path: `/v5/agentex/deployments/${encodeURIComponent(id)}`,
      accept: [400, 404, 409, 410, 422],
      signal: options.signal,
    });
    if (response.status < 300) return 'deleted';
    if (response.status === 404 || response.status === 410) return 'already-gone';
    // A client error for a deployment already DELETED, CANCELLED or SUPERSEDED means it is done;
    // any other client error is real and must not be swallowed.
    const current = await this.getDeployment(id, options).catch(() => undefined);
    if (current && GONE_DEPLOY_PHASES.has(current.phase)) return 'already-gone';
    throw new ApiError(`DELETE /v5/agentex/deployments/${id} (delete deployment)`, response.status, describe(response.body));
  }

  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    const maxLines = options.maxLines ?? 2000;
    const lines: LogLine[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Json>({
        call: 'get deployment logs',
        method: 'GET',
        path: `/v5/agentex/deployments/${encodeURIComponent(id)}/logs`,
        query: { cursor, limit: LOG_PAGE_LIMIT },
        signal: options.signal,
      });
      for (const raw of Array.isArray(body.lines) ? (body.lines as Json[]) : []) {
        lines.push({ message: String(raw.message ?? ''), level: stringField(raw, 'log_level'), timestamp: stringField(raw, 'timestamp') });
      }
      if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
      const next = stringField(body, 'next_cursor');
      if (!body.has_more || !next || next === cursor) break;
      cursor = next;
    }
    return lines;
  }

  private async listBuilds(agentName: string, treeHash: string, signal?: AbortSignal): Promise<Json[]> {
    const page = await this.http.json<Page>({
      call: 'list builds',
      method: 'GET',
      path: '/v5/builds',
      query: { agent_name: agentName, working_tree_hash: treeHash, limit: PAGE_LIMIT, sort_by: 'created_at', sort_order: 'desc' },
      signal,
    });
    return itemsOf(page);
  }

  private async listBuildIds(agentName: string, treeHash: string, signal?: AbortSignal): Promise<Set<string>> {
    const builds = await this.listBuilds(agentName, treeHash, signal);
    for (const build of builds) this.learnAgentId(toBuild(build));
    return new Set(builds.map((build) => stringField(build, 'id', 'build_id') ?? ''));
  }

  private async lookUpAgentId(agentName: string, signal?: AbortSignal): Promise<string | undefined> {
    const page = await this.http.json<Page>({
      call: 'list builds',
      method: 'GET',
      path: '/v5/builds',
      query: { agent_name: agentName, limit: 20, sort_by: 'created_at', sort_order: 'desc' },
      signal,
    });
    for (const build of itemsOf(page).map(toBuild)) this.learnAgentId(build);
    return this.agentIds.get(agentName);
  }

  private learnAgentId(build: Build): void {
    if (build.agentName && build.agentId) this.agentIds.set(build.agentName, build.agentId);
  }

  private async listAll(call: string, path: string, query: Record<string, string | undefined>, signal?: AbortSignal): Promise<Json[]> {
    const all: Json[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.http.json<Page | Json[]>({
        call,
        method: 'GET',
        path,
        query: { ...query, limit: PAGE_LIMIT, starting_after: after, sort_by: 'created_at', sort_order: 'desc' },
        signal,
      });
      const items = itemsOf(body);
      all.push(...items);
      const last = items.length ? stringField(items[items.length - 1], 'id') : undefined;
      if (Array.isArray(body) || !body.has_more || !last || last === after) break;
      after = last;
    }
    return all;
  }
}

function itemsOf(page: Page | Json[] | undefined): Json[] {
  if (Array.isArray(page)) return page;
  return Array.isArray(page?.items) ? page.items : [];
}

/** Both shapes the API has used: `{id, build_status}` and the older `{build_id, status}`. */
export function toBuild(raw: Json): Build {
  const rawStatus = stringField(raw, 'build_status', 'status') ?? 'unknown';
  return {
    id: stringField(raw, 'id', 'build_id') ?? '',
    phase: buildPhase(rawStatus),
    rawStatus,
    agentName: stringField(raw, 'agent_name'),
    agentId: stringField(raw, 'agent_id'),
    imageName: stringField(raw, 'image_name'),
    imageTag: stringField(raw, 'image_tag'),
    imageUrl: stringField(raw, 'image_url'),
    treeHash: stringField(raw, 'working_tree_hash'),
    sourceCommit: stringField(raw, 'source_commit'),
    sourceRepo: stringField(raw, 'source_repo'),
    createdAt: stringField(raw, 'created_at'),
  };
}

export function toDeployment(raw: Json): Deployment {
  const rawStatus = stringField(raw, 'status') ?? 'unknown';
  const url = stringField(raw, 'url', 'preview_url', 'public_url');
  return {
    id: stringField(raw, 'id') ?? '',
    phase: deployPhase(rawStatus),
    rawStatus,
    agentName: stringField(raw, 'agent_name') ?? agentNameFromManifest(raw.manifest_file),
    buildId: stringField(raw, 'build_id'),
    previewLabel: stringField(raw, 'preview_label'),
    expiresAt: stringField(raw, 'expires_at'),
    createdAt: stringField(raw, 'created_at'),
    release: stringField(raw, 'helm_release_name'),
    namespace: stringField(raw, 'namespace'),
    // A URL that carries a credential is never kept, so it cannot reach a log or a comment.
    url: url && !urlCarriesCredential(url) ? url : undefined,
    // The deploy object returns the manifest_file and environment_config it was created with (PLATFORMS.md, "Deploy object").
    deployedWith:
      typeof raw.manifest_file === 'string' && typeof raw.environment_config === 'string'
        ? { manifestText: raw.manifest_file, environmentText: raw.environment_config }
        : undefined,
    events: Array.isArray(raw.deploy_events) ? (raw.deploy_events as Json[]).map(toEvent) : [],
  };
}

function toEvent(raw: Json): DeployEvent {
  return {
    type: stringField(raw, 'type'),
    reason: stringField(raw, 'reason'),
    message: String(raw.message ?? ''),
    timestamp: stringField(raw, 'timestamp'),
  };
}

function agentNameFromManifest(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const name = (parseYaml(text) as { agent?: { name?: unknown } } | null)?.agent?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function logLineOf(data: string): string | undefined {
  try {
    const parsed = JSON.parse(data) as unknown;
    if (parsed && typeof parsed === 'object') {
      const line = (parsed as Json).line ?? (parsed as Json).message;
      return typeof line === 'string' ? line : JSON.stringify(parsed);
    }
    return String(parsed);
  } catch {
    return data;
  }
}

function numeric(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The build was refused because of its agent_name: a 409 (the only conflict a build create has is
 * an agent of that name; PLATFORMS.md), or a validation error located at the agent_name field
 * (FastAPI's `loc`, which describeErrorBody renders as `agent_name: ...`). Never the wording.
 */
function refusesAgentName(err: ApiError): boolean {
  if (err.status === 409) return true;
  if (err.status !== 400 && err.status !== 422) return false;
  return err.detail.split('; ').some((item) => item.startsWith('agent_name: '));
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'detail' in body) return redact(String((body as Json).detail));
  return redact(typeof body === 'string' ? body : JSON.stringify(body ?? 'no message from the server'));
}
