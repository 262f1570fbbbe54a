import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, InputError } from '../../errors.js';
import { HttpClient, describeErrorBody, type HttpResponse } from '../../http/client.js';
import { redact, registerSecret, urlCarriesCredential } from '../../secrets/redact.js';
import type {
  Build,
  BuildRequest,
  CallOptions,
  DeployEvent,
  DeployPhase,
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
import { type Json, newestFirst, stringField } from '../records.js';
import { resolveAstropodsSettings, type AstropodsSettingsInput } from './config.js';

/*
 * Astropods (astro-api), base `https://astropods.com/api/v1`, `Authorization: Bearer <token>`.
 * Documented (seed 003): `POST /deploy {account, name, source_account?, user_credentials?,
 * interfaces?, schedules?}` deploys the latest build of an agent ("creates or updates" its
 * namespace, deployment, services and ingress) and answers 200 `{status: success, ...}` or 207
 * `{status: partial, errors: [...]}`; errors are `{error, details}`. The response carries no
 * deployment id. Used by the platform's CLI (undocumented): `POST /agents/{account}/{name}/register`
 * (an already pushed image becomes the agent's latest build), `GET /deployments?account=X`,
 * `GET /deployments/{id}` (with `external_urls: [{name, url, type, ready}]`),
 * `POST /undeploy {deployment_id}`, `POST /agents/{account}/{name}/deployment-template` then
 * `POST /deploy` with `X-Template-Signature`, and 409 when a display name is taken.
 *
 * Mapping:
 * - there is no server-side build: the pushed image `request.image` is registered on an agent of
 *   its own per preview, named `<agent>-<label>` (a real deploy uses the agent's own name), so
 *   "the latest build" a deploy picks up is exactly this preview's image, whatever other pull
 *   requests register meanwhile;
 * - the deployment's display name is `<agent>-<label>` too. A 409 means another agent's
 *   deployment holds that name: the deploy is repeated under `<agent>-<label>-<hash6>`, where
 *   the hash is of account, agent and label, so the same preview always picks the same fallback
 *   and finds it again. A 409 from a deployment of our own agent is reused as it is. An earlier
 *   deployment of this preview keeps its display name on the next deploy;
 * - the deploy response has no id, so the deployment is found in `GET /deployments` by display
 *   name and agent name afterwards;
 * - a 207 (status `partial`) is a failed deploy: the deployment comes back `failed` with the
 *   listed errors as its events (and is still torn down by id like any other).
 */

export interface AstropodsPlatformOptions extends AstropodsSettingsInput, PlatformClientOptions {}

/** Kubernetes names (namespaces, services) stop at 63 characters. */
const NAME_MAX = 63;
/** Room kept for the `-<hash6>` fallback suffix. */
const BASE_MAX = NAME_MAX - 7;
/** How often a just deployed deployment is looked for before giving up (the list may lag). */
const LOOKUP_TRIES = 5;

const FAILED_STATUSES = new Set(['failed', 'partial', 'error', 'errored']);
const GONE_STATUSES = new Set(['undeployed', 'deleted', 'terminated', 'stopped', 'removed']);
const CANCELLED_STATUSES = new Set(['cancelled', 'canceled']);
const RUNNING_STATUSES = new Set(['running', 'success', 'deployed', 'ready', 'active', 'healthy']);
const PROGRESS_STATUSES = new Set(['deploying', 'pending', 'creating', 'updating', 'progressing', 'queued', 'starting']);

interface Owner {
  agentName?: string;
  previewLabel?: string;
}

/** Astropods' preview labels: part of the registered agent's name and display name, so the name rule (`slug`). */
export const ASTROPODS_LABEL_RULE: LabelRule = {
  sanitize: (input) => slug(input),
  description: 'lowercase letters, digits and hyphens',
};

export class AstropodsPlatform implements Platform {
  readonly name = 'astropods';
  readonly capabilities: PlatformCapabilities = {
    // Deployments carry `external_urls`, each with a `ready` flag.
    deploymentUrl: true,
    // Deployments carry no expiry; the sweep tears previews down.
    previewExpiry: false,
  };
  readonly labelRule = ASTROPODS_LABEL_RULE;
  readonly http: HttpClient;
  readonly account: string;
  /** Registered agent name → whose preview it is, learnt from deploys made by this client. */
  private readonly owners = new Map<string, Owner>();

  constructor(options: AstropodsPlatformOptions = {}) {
    const settings = resolveAstropodsSettings(options, options.env);
    this.account = settings.account;
    this.http = new HttpClient({
      baseUrl: settings.baseUrl,
      headers: { authorization: `Bearer ${settings.token}`, 'user-agent': 'agent-preview' },
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      onRetry: options.onRetry,
    });
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    if (!request.image) {
      throw new InputError('Astropods deploys an already pushed image: give its name and tag', { field: 'image' });
    }
    const label = request.preview ? slug(request.preview.label) : undefined;
    if (request.preview && !label) {
      throw new InputError(`preview label "${request.preview.label}" has no letters or digits`, { field: 'preview-label' });
    }
    const agent = label ? previewName(request.agentName, label) : cap(slug(request.agentName), NAME_MAX);
    if (!agent) throw new InputError(`agent name "${request.agentName}" has no letters or digits`, { field: 'agent-name' });
    const owner: Owner = { agentName: request.agentName, previewLabel: label };
    this.owners.set(agent, owner);

    await this.register(agent, request.image, options.signal);

    // An earlier deployment of this agent keeps its display name; otherwise the plain name first.
    const ours = (await this.listRaw(options.signal)).filter((raw) => stringField(raw, 'name') === agent).sort(newestFirstRaw);
    // Hashed from the names as stored (the agent part possibly shortened), so a reader can check it.
    const agentPart = label && agent.endsWith(`-${label}`) ? agent.slice(0, -label.length - 1) : agent;
    const fallback = `${agent}-${shortHash(`${this.account}/${agentPart}/${label ?? ''}`)}`;
    const candidates = unique([...ours.map(displayNameOf).filter((name): name is string => !!name), agent, fallback]);

    for (const displayName of candidates) {
      const response = await this.deploy(agent, displayName, options.signal);
      if (response.status === 409) {
        const holder = (await this.listRaw(options.signal)).find((raw) => displayNameOf(raw) === displayName);
        // Held by a deployment of our own agent (a concurrent deploy of this preview): reuse it.
        if (holder && stringField(holder, 'name') === agent) return toDeployment(holder, owner);
        continue;
      }
      return this.settleDeploy(response.status, response.body, agent, displayName, owner, options.signal);
    }
    throw new ApiError(
      'POST /deploy (deploy)',
      409,
      `every display name tried for ${agent} is taken by another agent's deployment (${candidates.join(', ')}); undeploy the holder or rename the agent`,
    );
  }

  async getDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    const raw = await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/deployments/${encodeURIComponent(id)}`, signal: options.signal });
    return toDeployment(raw, this.owners.get(stringField(raw, 'name') ?? '') ?? {});
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    const label = filter.previewLabel === undefined ? undefined : slug(filter.previewLabel);
    const agentSlug = filter.agentName === undefined ? undefined : slug(filter.agentName);
    const matches: Deployment[] = [];
    for (const raw of await this.listRaw(options.signal)) {
      if (filter.buildId && stringField(raw, 'build_id') !== filter.buildId) continue;
      const known = this.owners.get(stringField(raw, 'name') ?? '');
      const owner: Owner = known && (label === undefined || known.previewLabel === label) ? { ...known } : ownerOf(raw, this.account, label);
      if (label !== undefined && owner.previewLabel !== label) continue;
      if (agentSlug !== undefined) {
        const name = stringField(raw, 'name') ?? '';
        const mine = owner.agentName !== undefined ? slug(owner.agentName) === agentSlug : name === agentSlug || name.startsWith(`${agentSlug}-`);
        if (!mine) continue;
        owner.agentName = filter.agentName;
      }
      matches.push(toDeployment(raw, owner));
    }
    return matches.sort(newestFirst);
  }

  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const response = await this.http.request<Json>({
      call: 'undeploy',
      method: 'POST',
      path: '/undeploy',
      json: { deployment_id: id },
      // Undeploying twice does no harm: the second answers 404, which counts as gone.
      idempotent: true,
      accept: [400, 404, 409, 410, 422],
      signal: options.signal,
    });
    if (response.status < 300) return 'deleted';
    if (response.status === 404 || response.status === 410) return 'already-gone';
    // Another client error counts as done only for a deployment that is no longer there.
    try {
      const current = await this.getDeployment(id, options);
      if (current.phase === 'deleted' || current.phase === 'cancelled') return 'already-gone';
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 410)) return 'already-gone';
    }
    throw new ApiError('POST /undeploy (undeploy)', response.status, describeBody(response.body));
  }

  /**
   * Astropods offers no runtime log API. What it does report is the deploy's `errors` and the
   * Kubernetes `resources` it created, so those are the lines: resources first, then errors.
   */
  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    const raw = await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/deployments/${encodeURIComponent(id)}`, signal: options.signal });
    const timestamp = stringField(raw, 'deployed_at', 'updated_at', 'created_at');
    const lines: LogLine[] = [];
    for (const resource of arrayOf(raw.resources)) {
      if (!resource || typeof resource !== 'object' || !Object.keys(resource).length) continue;
      lines.push({ message: redact(describeResource(resource as Json)), level: 'info', timestamp });
    }
    for (const error of errorsOf(raw)) lines.push({ message: error, level: 'error', timestamp });
    const maxLines = options.maxLines ?? 2000;
    return lines.length > maxLines ? lines.slice(lines.length - maxLines) : lines;
  }

  /** The pushed image becomes the agent's latest build. Registering the same image again is harmless. */
  private async register(agent: string, image: { name: string; tag: string }, signal?: AbortSignal): Promise<Json> {
    return this.http.json<Json>({
      call: 'register image',
      method: 'POST',
      path: `${this.agentPath(agent)}/register`,
      json: { image: `${image.name}:${image.tag}`, image_name: image.name, image_tag: image.tag },
      idempotent: true,
      signal,
    });
  }

  /**
   * One deploy under one display name. The template flow comes first: newer servers (and the
   * platform's own CLI) sign a deploy body with `POST /agents/{account}/{name}/deployment-template`
   * and want it back on `POST /deploy` with `X-Template-Signature`. A 404 or 405 from the template
   * route means a server without it, and the documented body `{account, name}` is sent instead
   * (with `display_name`, which a server that does not know it ignores).
   *
   * A deploy "creates or updates" the agent's deployment, so sending it again after an ambiguous
   * failure only updates what the first one made: it is retried as idempotent.
   */
  private async deploy(agent: string, displayName: string, signal?: AbortSignal): Promise<HttpResponse<Json>> {
    const template = await this.http.request<Json>({
      call: 'get deployment template',
      method: 'POST',
      path: `${this.agentPath(agent)}/deployment-template`,
      json: { display_name: displayName },
      idempotent: true,
      accept: [404, 405, 409],
      signal,
    });
    if (template.status === 409) return template;
    let body: Json = { account: this.account, name: agent, display_name: displayName };
    const headers: Record<string, string> = {};
    if (template.status < 300) {
      const signed = templateOf(template.body);
      if (!signed) throw new ApiError(`POST ${this.agentPath(agent)}/deployment-template (get deployment template)`, template.status, 'the answer carried no template and signature');
      registerSecret(signed.signature);
      body = signed.template;
      headers['x-template-signature'] = signed.signature;
    }
    return this.http.request<Json>({ call: 'deploy', method: 'POST', path: '/deploy', json: body, headers, idempotent: true, accept: [409], signal });
  }

  /** Finds the deployment a deploy made or updated (the answer has no id) and reads a 207 as a failure. */
  private async settleDeploy(status: number, body: Json, agent: string, displayName: string, owner: Owner, signal?: AbortSignal): Promise<Deployment> {
    const partial = status === 207 || stringField(body ?? {}, 'status') === 'partial';
    const errors = errorsOf(body ?? {});
    let raw: Json | undefined;
    const id = stringField(body ?? {}, 'deployment_id', 'id');
    for (let attempt = 0; attempt < LOOKUP_TRIES && !raw; attempt++) {
      if (attempt) await sleep(100 * attempt, undefined, { signal });
      if (id) {
        raw = await this.http
          .json<Json>({ call: 'get deployment', method: 'GET', path: `/deployments/${encodeURIComponent(id)}`, signal })
          .catch(() => undefined);
      } else {
        raw = (await this.listRaw(signal))
          .filter((candidate) => stringField(candidate, 'name') === agent && displayNameOf(candidate) === displayName)
          .sort(newestFirstRaw)[0];
      }
    }
    if (!raw) {
      const detail = partial
        ? `partial deploy of ${agent} with no deployment to show for it: ${errors.join('; ') || 'no errors listed'}`
        : `deployed ${agent} as "${displayName}" but the deployment does not appear in GET /deployments?account=${this.account}`;
      throw new ApiError('POST /deploy (deploy)', status, redact(detail));
    }
    const deployment = toDeployment(raw, owner);
    if (!partial) return deployment;
    // A partial deploy is a failure, whatever the deployment says yet; its errors are the events.
    const known = new Set(deployment.events.map((event) => event.message));
    const extra = errors.filter((error) => !known.has(error)).map((message): DeployEvent => ({ type: 'error', reason: 'partial', message }));
    return { ...deployment, phase: 'failed', rawStatus: 'partial', url: undefined, events: [...deployment.events, ...extra] };
  }

  private async listRaw(signal?: AbortSignal): Promise<Json[]> {
    const body = await this.http.json<Json | Json[]>({ call: 'list deployments', method: 'GET', path: '/deployments', query: { account: this.account }, signal });
    if (Array.isArray(body)) return body;
    for (const key of ['deployments', 'items', 'data']) if (Array.isArray(body?.[key])) return body[key] as Json[];
    return [];
  }

  private agentPath(agent: string): string {
    return `/agents/${encodeURIComponent(this.account)}/${encodeURIComponent(agent)}`;
  }
}

/** Lower case letters, digits and single hyphens, as Kubernetes names want. */
export function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `<agent>-<label>`: the preview's agent and display name, short enough for the hash fallback. */
export function previewName(agentName: string, label: string): string {
  const suffix = `-${slug(label)}`;
  return `${cap(slug(agentName), BASE_MAX - suffix.length)}${suffix}`.replace(/^-+/, '').slice(0, BASE_MAX).replace(/-+$/, '');
}

/**
 * Whose preview a deployment is, read back from its names: the registered agent is
 * `<agent>-<label>` and the display name is that or `<agent>-<label>-<hash6>`. A deployment
 * holding such a display name for another agent is not ours.
 */
export function ownerOf(raw: Json, account: string, label?: string): Owner {
  if (label === undefined) return {};
  const name = stringField(raw, 'name') ?? '';
  const display = displayNameOf(raw) ?? name;
  const suffix = `-${label}`;
  if (!name.endsWith(suffix) || name.length === suffix.length) return {};
  const agentName = name.slice(0, -suffix.length);
  if (display === name || display === `${name}-${shortHash(`${account}/${agentName}/${label}`)}`) return { agentName, previewLabel: label };
  return {};
}

export function toDeployment(raw: Json, owner: Owner = {}): Deployment {
  const rawStatus = stringField(raw, 'status') ?? 'unknown';
  const phase = deployPhase(rawStatus, raw);
  return {
    id: stringField(raw, 'id', 'deployment_id') ?? '',
    phase,
    rawStatus,
    agentName: owner.agentName ?? stringField(raw, 'name'),
    buildId: stringField(raw, 'build_id'),
    previewLabel: owner.previewLabel,
    createdAt: stringField(raw, 'created_at', 'deployed_at'),
    release: displayNameOf(raw),
    namespace: stringField(raw, 'k8s_namespace', 'namespace'),
    url: phase === 'failed' ? undefined : readyUrl(raw),
    events: errorsOf(raw).map((message) => ({ type: 'error', message })),
  };
}

/** The status first for failures and teardowns; otherwise readiness from `external_urls[].ready`. */
export function deployPhase(rawStatus: string, raw: Json = {}): DeployPhase {
  const status = rawStatus.trim().toLowerCase();
  if (FAILED_STATUSES.has(status)) return 'failed';
  if (GONE_STATUSES.has(status)) return 'deleted';
  if (CANCELLED_STATUSES.has(status)) return 'cancelled';
  const urls = arrayOf(raw.external_urls).filter((entry): entry is Json => !!entry && typeof entry === 'object');
  if (urls.length) return urls.every((entry) => entry.ready === true) ? 'healthy' : 'progressing';
  if (RUNNING_STATUSES.has(status)) return 'healthy';
  if (PROGRESS_STATUSES.has(status)) return 'progressing';
  return 'unknown';
}

/** The first ready external URL that is http(s) and carries no credential. */
function readyUrl(raw: Json): string | undefined {
  for (const entry of arrayOf(raw.external_urls)) {
    if (!entry || typeof entry !== 'object' || (entry as Json).ready !== true) continue;
    const url = stringField(entry as Json, 'url');
    if (url && /^https?:\/\//i.test(url) && !urlCarriesCredential(url)) return url;
  }
  return undefined;
}

function templateOf(body: unknown): { template: Json; signature: string } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const record = body as Json;
  const template = record.template;
  const signature = stringField(record, 'signature', 'template_signature');
  if (!template || typeof template !== 'object' || Array.isArray(template) || !signature) return undefined;
  return { template: template as Json, signature };
}

function displayNameOf(raw: Json): string | undefined {
  return stringField(raw, 'display_name', 'displayName', 'name');
}

function errorsOf(raw: Json): string[] {
  return arrayOf(raw.errors)
    .map((error) => (typeof error === 'string' ? error : error && typeof error === 'object' ? String((error as Json).message ?? (error as Json).error ?? JSON.stringify(error)) : String(error)))
    .filter(Boolean)
    .map(redact);
}

function describeResource(resource: Json): string {
  const kind = stringField(resource, 'kind', 'type');
  const name = stringField(resource, 'name');
  const status = stringField(resource, 'status', 'action');
  if (kind || name) return `${kind ?? 'resource'}${name ? `/${name}` : ''}${status ? `: ${status}` : ''}`;
  return JSON.stringify(resource);
}

function describeBody(body: unknown): string {
  return describeErrorBody(typeof body === 'string' ? body : JSON.stringify(body ?? ''));
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 6);
}

function cap(value: string, max: number): string {
  return value.slice(0, Math.max(0, max)).replace(/-+$/, '');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function newestFirstRaw(a: Json, b: Json): number {
  return (Date.parse(stringField(b, 'deployed_at', 'created_at') ?? '') || 0) - (Date.parse(stringField(a, 'deployed_at', 'created_at') ?? '') || 0);
}
