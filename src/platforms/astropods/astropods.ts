import { createHash } from 'node:crypto';
import { ApiError, InputError } from '../../errors.js';
import { HttpClient, describeErrorBody, type HttpResponse } from '../../http/client.js';
import { redact, registerSecret, urlCarriesCredential } from '../../secrets/redact.js';
import type { CallOptions, DeployEvent, DeployPhase, DeployRequest, Deployment, DeploymentFilter, LabelRule, LogLine, Platform, PlatformCapabilities } from '../platform.js';
import type { PlatformClientOptions } from '../settings.js';
import { type Json, newestFirst, stringField } from '../records.js';
import { stringify as stringifyYaml } from 'yaml';
import { resolveAstropodsSettings, type AstropodsSettingsInput } from './config.js';
import { AstropodsConversations } from './conversation.js';
import type { Conversations } from '../platform.js';

/*
 * Astropods (astro-api), base `https://astropods.com/api/v1`, `Authorization: Bearer <token>`, as
 * its own CLI drives it, astropods/astro-cli@7e52620209454f73f1645d1a37dbbc776df66a67 (cited as
 * `@7e52620:file`), and its API reference (docs.astropods.com api-reference/astro-ai-api):
 *   POST /agents/{account}/{name}/register {build_id, registry, spec_content, readme?} → 201
 *        (register-agent; @7e52620:cmd/push.go registerAgentWithServer)
 *   POST /agents/{account}/{name}/deployment-template {build, deployment_id?, interfaces, finalize: true}
 *        → {template, validation: {valid, errors}, signature}; signed only when asked with
 *        `finalize: true` (@7e52620:cmd/agent_deploy.go runDeployWithRequest)
 *   POST /deploy <template, with target.display_name set> + X-Template-Signature
 *        → {status, deployment_id, name, build_id}; 409 display name in use; 404 target gone; 207 partial
 *   GET  /deployments?account=X → {deployments, count}; GET /deployments/{id} → {deployment: {...}}
 *        (@7e52620:cmd/agent.go, cmd/agent_deploy_wait.go)
 *   POST /undeploy {deployment_id} (404 when unknown); POST /agents/{account}/{name}/archive
 *        (@7e52620:cmd/agent.go runAgentDelete, cmd/blueprint.go runBlueprintArchive)
 * Errors are `{error, details}`.
 *
 * Mapping:
 * - there is no server-side build: the pushed image `request.image` is registered as a build of
 *   an agent of its own per preview, named `<agent>-<label>` (a real deploy uses the agent's own
 *   name). The build id is derived from the image, so registering the same image again updates
 *   the same build; the spec is the smallest `astropods.yml` that runs a pushed image;
 * - the first deploy of a preview creates its deployment under the display name `<agent>-<label>`
 *   (`template.target.display_name`, as the CLI sets it). A 409 means that name is held by another
 *   deployment: the deploy is repeated under `<agent>-<label>-<hash6>`, the hash of account, agent
 *   and label, so the same preview always picks the same fallback and finds it again;
 * - a later deploy of the preview finds its deployment (by agent name) and, for a new image,
 *   updates it in place (`deployment_id` in the template request, as `ast agent redeploy` does);
 *   for the image it already runs, it does nothing;
 * - a 207 (status `partial`) is a failed deploy: the deployment comes back `failed` with the
 *   listed errors as its events;
 * - a teardown undeploys, then archives the preview's agent once no deployment of it is left:
 *   Astropods has no way to delete a registered agent, archiving is what it offers.
 */

export interface AstropodsPlatformOptions extends AstropodsSettingsInput, PlatformClientOptions {}

/** Kubernetes names (namespaces, services) stop at 63 characters. */
const NAME_MAX = 63;
/** Room kept for the `-<hash6>` fallback suffix. */
const BASE_MAX = NAME_MAX - 7;

const FAILED_STATUSES = new Set(['failed', 'partial', 'error', 'errored']);
const GONE_STATUSES = new Set(['undeployed', 'deleted', 'terminated', 'stopped', 'removed']);
const CANCELLED_STATUSES = new Set(['cancelled', 'canceled']);
const RUNNING_STATUSES = new Set(['running', 'success', 'deployed', 'ready', 'active', 'healthy']);
const PROGRESS_STATUSES = new Set(['deploying', 'pending', 'creating', 'updating', 'progressing', 'queued', 'starting']);

interface Owner {
  agentName?: string;
  previewLabel?: string;
}

/** Room a label may take in `<agent>-<label>` (a Kubernetes name), leaving the agent part at least 15 characters. */
const LABEL_MAX = 40;

/** Astropods' preview labels: part of the registered agent's name and display name, so the name rule (`slug`), cut to fit. */
export const ASTROPODS_LABEL_RULE: LabelRule = {
  sanitize: (input) => slug(input).slice(0, LABEL_MAX).replace(/-+$/, ''),
  description: `lowercase letters, digits and hyphens, at most ${LABEL_MAX} characters`,
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
  /** Through the deployment's messaging sidecar (conversation.ts). */
  readonly conversation: Conversations;
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
    this.conversation = new AstropodsConversations(this.http);
  }

  async createDeployment(request: DeployRequest, options: CallOptions = {}): Promise<Deployment> {
    if (!request.image) {
      throw new InputError('Astropods deploys an already pushed image: give its name and tag', { field: 'image' });
    }
    const image = splitImage(request.image);
    const label = request.preview ? ASTROPODS_LABEL_RULE.sanitize(request.preview.label) : undefined;
    if (request.preview && !label) {
      throw new InputError(`preview label "${request.preview.label}" has no letters or digits`, { field: 'preview-label' });
    }
    const agent = label ? previewName(request.agentName, label) : cap(slug(request.agentName), NAME_MAX);
    if (!agent) throw new InputError(`agent name "${request.agentName}" has no letters or digits`, { field: 'agent-name' });
    const owner: Owner = { agentName: request.agentName, previewLabel: label };
    this.owners.set(agent, owner);
    const buildId = buildIdOf(image.ref);

    await this.register(agent, image, buildId, request, options.signal);

    // This preview's deployment, if it has one already: the same image needs nothing, a new one updates it in place.
    const current = (await this.listRaw(options.signal)).filter((raw) => stringField(raw, 'name') === agent).sort(newestFirstRaw)[0];
    if (current) {
      const known = toDeployment(current, owner);
      if (known.buildId === buildId && known.phase !== 'failed') return known;
      const updated = await this.deploy(agent, buildId, displayNameOf(current) ?? agent, stringField(current, 'id'), options.signal);
      // Gone meanwhile (404): start afresh below.
      if (updated.status !== 404 && updated.status !== 409) return this.settleDeploy(updated, agent, owner, options.signal);
    }

    // Hashed from the names as stored (the agent part possibly shortened), so a reader can check it.
    const agentPart = label && agent.endsWith(`-${label}`) ? agent.slice(0, -label.length - 1) : agent;
    const candidates = [agent, `${agent}-${shortHash(`${this.account}/${agentPart}/${label ?? ''}`)}`];
    for (const displayName of candidates) {
      const response = await this.deploy(agent, buildId, displayName, undefined, options.signal);
      if (response.status === 409) continue;
      if (response.status === 404) throw new ApiError('POST /deploy (deploy)', 404, describeBody(response.body));
      return this.settleDeploy(response, agent, owner, options.signal);
    }
    throw new ApiError(
      'POST /deploy (deploy)',
      409,
      `every display name tried for ${agent} is in use by another deployment (${candidates.join(', ')}); undeploy the holder or rename the agent`,
    );
  }

  async getDeployment(id: string, options: CallOptions = {}): Promise<Deployment> {
    const raw = await this.getRaw(id, options.signal);
    return toDeployment(raw, this.owners.get(stringField(raw, 'name') ?? '') ?? {});
  }

  async listDeployments(filter: DeploymentFilter, options: CallOptions = {}): Promise<Deployment[]> {
    const label = filter.previewLabel === undefined ? undefined : slug(filter.previewLabel);
    const agentSlug = filter.agentName === undefined ? undefined : slug(filter.agentName);
    const matches: { raw: Json; deployment: Deployment }[] = [];
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
      if (owner.previewLabel !== undefined) this.owners.set(stringField(raw, 'name') ?? '', { ...owner });
      matches.push({ raw, deployment: toDeployment(raw, owner) });
    }
    return (await this.withRecordedRepos(matches, options.signal)).sort(newestFirst);
  }

  /**
   * The repository each listed deployment came from (what closes and the sweep decide by), as
   * `register` recorded it in the readme of the build it runs (`Preview <label> of <agent> from <host/owner/repo>, …`). Astropods keeps no other field
   * for it: a deployment is `{id, name, build_id, display_name, status, …}`, and the registered
   * agent's versions carry `build_id`, `published_at` and `readme`, listed by
   * `GET /agents/{account}` → `{agents: [{account, name, versions}], count}`
   * (astropods/astro-cli@7e52620:cmd/blueprint.go, blueprintItem and runBlueprintList; cmd/utils.go apiPath).
   */
  private async withRecordedRepos(found: { raw: Json; deployment: Deployment }[], signal?: AbortSignal): Promise<Deployment[]> {
    if (!found.length) return [];
    const response = await this.http.request<Json>({ call: 'list agents', method: 'GET', path: `/agents/${encodeURIComponent(this.account)}`, accept: [404], signal });
    const readmes = new Map<string, string>();
    for (const agent of arrayOf(response.status === 404 ? [] : response.body?.agents)) {
      if (!agent || typeof agent !== 'object') continue;
      for (const version of arrayOf((agent as Json).versions)) {
        const readme = version && typeof version === 'object' ? stringField(version as Json, 'readme') : undefined;
        if (readme) readmes.set(`${stringField(agent as Json, 'name')}\n${stringField(version as Json, 'build_id')}`, readme);
      }
    }
    return found.map(({ raw, deployment }) => {
      const sourceRepo = repoOfReadme(readmes.get(`${stringField(raw, 'name')}\n${stringField(raw, 'build_id')}`));
      return sourceRepo ? { ...deployment, sourceRepo } : deployment;
    });
  }

  /**
   * Undeploys, then archives the preview's agent once no deployment of it is left (Astropods has
   * no delete for a registered agent). Undeploying twice answers 404, which counts as gone.
   */
  async deleteDeployment(id: string, options: CallOptions = {}): Promise<'deleted' | 'already-gone'> {
    const found = await this.http.request<Json>({ call: 'get deployment', method: 'GET', path: `/deployments/${encodeURIComponent(id)}`, accept: [404], signal: options.signal });
    if (found.status === 404) return 'already-gone';
    const agent = stringField(unwrapDeployment(found.body), 'name');
    const response = await this.http.request<Json>({
      call: 'undeploy',
      method: 'POST',
      path: '/undeploy',
      json: { deployment_id: id },
      idempotent: true,
      accept: [404],
      signal: options.signal,
    });
    if (agent && this.isPreviewAgent(agent) && !(await this.listRaw(options.signal)).some((raw) => stringField(raw, 'name') === agent)) {
      await this.http.request({ call: 'archive agent', method: 'POST', path: `${this.agentPath(agent)}/archive`, idempotent: true, accept: [404], signal: options.signal });
    }
    return response.status === 404 ? 'already-gone' : 'deleted';
  }

  /**
   * Astropods offers no runtime log API. What it does report is the deploy's `errors` and the
   * Kubernetes `resources` it created, so those are the lines: resources first, then errors.
   */
  async deploymentLogs(id: string, options: CallOptions & { maxLines?: number } = {}): Promise<LogLine[]> {
    const raw = await this.getRaw(id, options.signal);
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

  /**
   * Registers the pushed image as a build of the agent, with the fields register-agent requires:
   * `build_id`, `registry` (the image's repository without its last segment, as push.go sends
   * `registryHost/account`) and `spec_content` (the agent's `astropods.yml`, here the smallest one
   * that runs a pushed image: `spec`, `name`, `agent.image`, as push.go's TransformSpecForRegistry
   * leaves it). Registering the same build again updates it, so a retry does no harm.
   */
  private async register(agent: string, image: PushedImage, buildId: string, request: DeployRequest, signal?: AbortSignal): Promise<void> {
    const specContent = stringifyYaml({ spec: 'blueprint/v1', name: agent, agent: { image: image.ref } });
    const readme = request.preview
      ? `Preview ${request.preview.label} of ${request.agentName}${request.sourceRepo ? ` from ${request.sourceRepo}` : ''}, deployed by agent-preview.`
      : `${request.agentName}, deployed by agent-preview.`;
    await this.http.request({
      call: 'register agent',
      method: 'POST',
      path: `${this.agentPath(agent)}/register`,
      json: { build_id: buildId, registry: image.registry, spec_content: specContent, readme },
      idempotent: true,
      signal,
    });
  }

  /**
   * One deploy as the CLI does it: a template signed on request (`finalize: true`), the display
   * name patched into `template.target.display_name`, and `POST /deploy` with the signature. With
   * `deploymentId` the template targets that deployment and the deploy updates it in place.
   * Answers 404 and 409 to the caller; anything else that is not a success throws.
   */
  private async deploy(agent: string, buildId: string, displayName: string, deploymentId: string | undefined, signal?: AbortSignal): Promise<HttpResponse<Json>> {
    const templatePath = `${this.agentPath(agent)}/deployment-template`;
    const request: Json = { build: buildId, interfaces: { adapters: ['web'], auth: { web: { type: 'oidc' } } }, finalize: true };
    if (deploymentId) request.deployment_id = deploymentId;
    const answer = await this.http.json<Json>({ call: 'get deployment template', method: 'POST', path: templatePath, json: request, idempotent: true, signal });
    const validation = (answer?.validation ?? {}) as Json;
    if (validation.valid === false) {
      const problems = arrayOf(validation.errors).map((error) => (error && typeof error === 'object' ? `${(error as Json).field}: ${(error as Json).message}` : String(error)));
      throw new ApiError(`POST ${templatePath} (get deployment template)`, undefined, redact(`the deployment is not valid: ${problems.join('; ') || 'no reason given'}`));
    }
    const template = answer?.template;
    const signature = stringField(answer ?? {}, 'signature');
    if (!template || typeof template !== 'object' || Array.isArray(template) || !signature) {
      throw new ApiError(
        `POST ${templatePath} (get deployment template)`,
        undefined,
        'the server answered without a signed template although finalize: true was asked for, so there is no X-Template-Signature to deploy with',
      );
    }
    registerSecret(signature);
    const body: Json = { ...(template as Json), target: { ...(((template as Json).target as Json) ?? {}), display_name: displayName } };
    const before = new Set((await this.listRaw(signal)).map((raw) => stringField(raw, 'id')));
    return this.http.request<Json>({
      call: 'deploy',
      method: 'POST',
      path: '/deploy',
      json: body,
      headers: { 'x-template-signature': signature },
      accept: [404, 409],
      idempotent: Boolean(deploymentId),
      // A fresh deploy whose answer was lost: the deployment it made is the new one of this agent under this name.
      reconcile: async () => {
        const made = (await this.listRaw(signal)).find((raw) => !before.has(stringField(raw, 'id')) && stringField(raw, 'name') === agent && displayNameOf(raw) === displayName);
        return made ? { status: 'success', deployment_id: stringField(made, 'id'), name: agent, build_id: stringField(made, 'build_id') } : undefined;
      },
      signal,
    });
  }

  /** Reads the deployment a deploy made or updated, and a 207 as a failure. */
  private async settleDeploy(response: HttpResponse<Json>, agent: string, owner: Owner, signal?: AbortSignal): Promise<Deployment> {
    const body = response.body ?? {};
    const partial = response.status === 207 || stringField(body, 'status') === 'partial';
    const errors = errorsOf(body);
    const id = stringField(body, 'deployment_id', 'id');
    if (!id)
      throw new ApiError(
        'POST /deploy (deploy)',
        response.status,
        redact(`deployed ${agent} but the answer names no deployment_id${errors.length ? `: ${errors.join('; ')}` : ''}`),
      );
    const deployment = toDeployment(await this.getRaw(id, signal), owner);
    if (!partial) return deployment;
    // A partial deploy is a failure, whatever the deployment says yet; its errors are the events.
    const known = new Set(deployment.events.map((event) => event.message));
    const extra = errors.filter((error) => !known.has(error)).map((message): DeployEvent => ({ type: 'error', reason: 'partial', message }));
    return { ...deployment, phase: 'failed', rawStatus: 'partial', url: undefined, events: [...deployment.events, ...extra] };
  }

  /** `GET /deployments/{id}` answers `{deployment: {...}}`. */
  private async getRaw(id: string, signal?: AbortSignal): Promise<Json> {
    if (!id) throw new InputError('no deployment id to look up', { field: 'deployment-id' });
    return unwrapDeployment(await this.http.json<Json>({ call: 'get deployment', method: 'GET', path: `/deployments/${encodeURIComponent(id)}`, signal }));
  }

  /** An agent this client registered or listed as a preview's own (a teardown lists before it deletes). */
  private isPreviewAgent(agent: string): boolean {
    return this.owners.get(agent)?.previewLabel !== undefined;
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

/** What `register` writes for a preview from a repository; the repository is read back from it. */
const PREVIEW_README = /^Preview \S+ of \S+ from (\S+), deployed by agent-preview\.$/;

function repoOfReadme(readme: string | undefined): string | undefined {
  return readme ? PREVIEW_README.exec(readme.trim())?.[1] : undefined;
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

function unwrapDeployment(body: Json | undefined): Json {
  const inner = body?.deployment;
  return inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Json) : (body ?? {});
}

interface PushedImage {
  /** `registry/name:tag` as given. */
  ref: string;
  /** The repository without its last segment: where the image was pushed. */
  registry: string;
}

function splitImage(image: { name: string; tag: string }): PushedImage {
  const slash = image.name.lastIndexOf('/');
  if (slash <= 0) {
    throw new InputError(`image "${image.name}:${image.tag}" names no registry; Astropods registers a build by registry and image, e.g. ghcr.io/acme/agent:v1`, { field: 'image' });
  }
  return { ref: `${image.name}:${image.tag}`, registry: image.name.slice(0, slash) };
}

/** 8 hex characters, as the CLI's build ids are (push.go generateBuildID), but derived from the image so a retry names the same build. */
function buildIdOf(imageRef: string): string {
  return createHash('sha256').update(imageRef).digest('hex').slice(0, 8);
}

function displayNameOf(raw: Json): string | undefined {
  return stringField(raw, 'display_name', 'displayName', 'name');
}

function errorsOf(raw: Json): string[] {
  return arrayOf(raw.errors)
    .map((error) =>
      typeof error === 'string' ? error : error && typeof error === 'object' ? String((error as Json).message ?? (error as Json).error ?? JSON.stringify(error)) : String(error),
    )
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

function newestFirstRaw(a: Json, b: Json): number {
  return (Date.parse(stringField(b, 'deployed_at', 'created_at') ?? '') || 0) - (Date.parse(stringField(a, 'deployed_at', 'created_at') ?? '') || 0);
}
