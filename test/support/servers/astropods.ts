/**
 * An in-memory Astropods (astro-api) server over node:http for tests, rebuilt from the platform's
 * own CLI, astropods/astro-cli@7e52620209454f73f1645d1a37dbbc776df66a67 (cited as `@7e52620:file`),
 * and its API reference (docs.astropods.com api-reference/astro-ai-api/agents/register-agent and
 * deployments/deploy-agent). Routes under `/api/v1`, auth `Authorization: Bearer <token>`, errors
 * `{error, details}` (@7e52620:cmd/push.go registerAgentWithServer reads both):
 *
 *   POST /api/v1/agents/{account}/{name}/register {build_id, registry, spec_content, readme?}
 *        → 201 {message, account, name, build_id, validation_warnings}        (register-agent; push.go)
 *   POST /api/v1/agents/{account}/{name}/deployment-template {build?, deployment_id?, interfaces?, variables?, finalize?}
 *        → {template, validation: {valid, errors}, signature?}; the signature only with finalize: true
 *                                                                              (@7e52620:cmd/agent_deploy.go)
 *   POST /api/v1/deploy <template> with X-Template-Signature
 *        → 200 {status: success, deployment_id, name, build_id} or 207 {status: partial, …, errors};
 *          409 when target.display_name is held by another deployment; 404 when target.deployment_id is gone
 *   GET  /api/v1/deployments?account=X   → {deployments: [...], count}             (@7e52620:cmd/agent.go)
 *   GET  /api/v1/deployments/{id}        → {deployment: {..., external_urls: [{name, url, type, ready, message}]}}
 *                                                                              (@7e52620:cmd/agent_deploy_wait.go)
 *   POST /api/v1/undeploy {deployment_id} → 200; 404 when unknown               (@7e52620:cmd/agent.go runAgentDelete)
 *   POST /api/v1/agents/{account}/{name}/archive → 200; 404 when unknown       (@7e52620:cmd/blueprint.go)
 *   GET  /api/v1/agents/{account}        → {agents: [{account, name, archived_at, ...}], count}
 *
 * Only the flow the CLI uses is served: the documented unsigned `POST /deploy {account, name}`
 * is not. ASSUMED where no source says: the signature covers the template without
 * `target.display_name` (the CLI patches that in after signing), deployments go `deploying` →
 * `active` (the CLI colours `active` and `failed`) `stepMs` after a deploy, and registering an
 * archived agent again brings it back.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

import { createMessagingSidecars, type MessagingSidecars } from './astropods-messaging.js';
import type { RecordedRequest } from './recorded.js';

export type { RecordedRequest };

type Json = Record<string, any>;

export interface AstropodsServer {
  url: string;
  requests: RecordedRequest[];
  /**
   * The next `times` requests whose `METHOD /path` (without /api/v1) match answer `status`. With
   * `when: 'after'` the work is done first and only the answer is lost.
   */
  failNext(route: RegExp, status: number, times?: number, when?: 'before' | 'after'): void;
  /** The next deploy half works: it answers 207 `partial` with these errors and its URLs never turn ready. */
  partialNextDeploy(errors: string[]): void;
  /** A deployment of another agent holding a display name, as another user of the account would make. */
  occupy(displayName: string, agentName: string): Json;
  deployments(): Json[];
  /** Registered agents (blueprints), with their builds and `archived_at`. */
  agents(): Json[];
  /** The deployments' messaging sidecars, behind `/deployments/{id}/messaging` and `/chat` (astropods-messaging.ts). */
  messaging: Pick<MessagingSidecars, 'conversations' | 'openStreams'>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly details?: string,
    readonly errorCode?: string,
  ) {
    super(error);
  }
}

interface StoredDeployment extends Json {
  _readyAt: number;
  _partial?: boolean;
}

interface StoredAgent {
  account: string;
  name: string;
  builds: Json[];
  archived_at: string | null;
  created_at: string;
}

export async function startAstropodsServer(options: {
  token: string;
  account: string;
  stepMs?: number;
  /** Put a ready URL carrying a credential before the public one. */
  credentialUrl?: boolean;
  /** Give deployments no public `web` URL (default true), as a deployment with no ingress has. */
  publicUrl?: boolean;
  /** How long a fresh event-stream subscribe settles (the sidecar's is 300 ms). */
  settleMs?: number;
}): Promise<AstropodsServer> {
  const stepMs = options.stepMs ?? 50;
  const sidecars = createMessagingSidecars({ token: options.token, settleMs: options.settleMs });
  const signingKey = randomUUID();
  const requests: RecordedRequest[] = [];
  const faults: { route: RegExp; status: number; times: number; when: 'before' | 'after' }[] = [];
  const agents = new Map<string, StoredAgent>();
  const deployments = new Map<string, StoredDeployment>();
  let nextPartial: string[] | undefined;
  let lastTime = 0;
  const now = () => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return new Date(lastTime).toISOString();
  };

  /** ASSUMED: what is signed is the template as issued, which has no display name in its target. */
  const sign = (template: Json) => {
    const { target, ...rest } = template;
    const { display_name: _displayName, ...signedTarget } = (target ?? {}) as Json;
    return createHmac('sha256', signingKey)
      .update(canonical({ ...rest, target: signedTarget }))
      .digest('hex');
  };

  function serialize(deployment: StoredDeployment): Json {
    const ready = !deployment._partial && Date.now() >= deployment._readyAt;
    const status = deployment._partial ? 'failed' : ready ? 'active' : 'deploying';
    const host = `${deployment.display_name}.${deployment.account}.astropods.app`;
    const external_urls: Json[] = [];
    if (options.credentialUrl) external_urls.push({ name: 'admin', url: `https://${host}/admin?token=adm-secret-123`, type: 'admin', ready });
    if (options.publicUrl !== false) {
      external_urls.push({ name: 'web', url: `https://${host}`, type: 'web', ready, message: ready ? undefined : 'waiting for ingress' });
    }
    const { _readyAt, _partial, account: _account, ...rest } = deployment;
    return { ...rest, status, external_urls };
  }

  function agentOf(account: string, name: string): StoredAgent {
    if (account !== options.account) throw new HttpError(404, 'account not found', `account ${account} not found`, 'account_not_found');
    const agent = agents.get(name);
    if (!agent) throw new HttpError(404, 'agent not found', `agent ${account}/${name} not found`, 'blueprint_not_found');
    return agent;
  }

  /** register-agent: build_id, registry and spec_content are required; readme is optional. */
  function register(account: string, name: string, body: Json): Json {
    if (account !== options.account) throw new HttpError(403, 'forbidden', `no access to account ${account}`);
    const missing = ['build_id', 'registry', 'spec_content'].filter((field) => typeof body[field] !== 'string' || !body[field]);
    if (missing.length) throw new HttpError(400, 'invalid request', `missing required field(s): ${missing.join(', ')}`);
    let spec: Json;
    try {
      spec = parseYaml(body.spec_content);
    } catch (err) {
      throw new HttpError(400, 'invalid spec', `spec_content is not YAML: ${(err as Error).message}`);
    }
    // A registered spec names the agent and runs a pushed image (push.go: TransformSpecForRegistry turns build into image).
    if (!spec || typeof spec !== 'object' || spec.spec !== 'blueprint/v1') throw new HttpError(400, 'invalid spec', 'spec_content: spec must be blueprint/v1');
    if (spec.name !== name) throw new HttpError(400, 'invalid spec', `spec_content: name "${spec.name}" does not match the agent "${name}"`);
    if (typeof spec.agent?.image !== 'string' || !spec.agent.image) throw new HttpError(400, 'invalid spec', 'spec_content: agent.image is required');
    const stamp = now();
    const agent = agents.get(name) ?? { account, name, builds: [], archived_at: null, created_at: stamp };
    agent.archived_at = null;
    agents.set(name, agent);
    // "Registers a new agent build or updates an existing one."
    const existing = agent.builds.find((build) => build.build_id === body.build_id);
    const build = { build_id: body.build_id, registry: body.registry, image: spec.agent.image, readme: body.readme ?? null, registered_at: stamp };
    if (existing) Object.assign(existing, build);
    else agent.builds.push(build);
    return { message: 'Agent registered successfully', account, name, build_id: body.build_id, validation_warnings: [] };
  }

  function template(account: string, name: string, body: Json): Json {
    const agent = agentOf(account, name);
    if (!agent.builds.length) throw new HttpError(404, 'build not found', `no builds found for agent ${name}`, 'build_not_found');
    const build = body.build ? agent.builds.find((candidate) => candidate.build_id === body.build) : agent.builds[agent.builds.length - 1];
    if (!build) throw new HttpError(404, 'build not found', `build ${body.build} not found for agent ${name}`, 'build_not_found');
    const target: Json = {};
    if (body.deployment_id) target.deployment_id = body.deployment_id;
    const issued = { account, name, build_id: build.build_id, interfaces: body.interfaces ?? { adapters: ['web'] }, variables: body.variables ?? {}, target };
    const answer: Json = { template: issued, validation: { valid: true, errors: [] } };
    // "finalize=true asks the server to sign the template" (@7e52620:cmd/agent_deploy.go).
    if (body.finalize === true) answer.signature = sign(issued);
    return answer;
  }

  function deploy(body: Json, headers: Json): { status: number; body: Json } {
    const signature = String(headers['x-template-signature'] ?? '');
    if (!signature) throw new HttpError(400, 'invalid request', 'X-Template-Signature is required');
    const expected = sign(body);
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      throw new HttpError(403, 'forbidden', 'invalid template signature');
    }
    const agent = agentOf(body.account, body.name);
    const build = agent.builds.find((candidate) => candidate.build_id === body.build_id);
    if (!build) throw new HttpError(404, 'build not found', `build ${body.build_id} not found`, 'build_not_found');
    const target: Json = body.target ?? {};
    const existing = target.deployment_id ? deployments.get(target.deployment_id) : undefined;
    if (target.deployment_id && !existing) throw new HttpError(404, 'not found', `deployment ${target.deployment_id} not found`);
    const displayName = typeof target.display_name === 'string' && target.display_name ? target.display_name : (existing?.display_name ?? body.name);
    const holder = [...deployments.values()].find((d) => d.display_name === displayName && d.id !== existing?.id);
    if (holder) throw new HttpError(409, 'conflict', `deployment name "${displayName}" is already in use`);
    const errors = nextPartial ?? [];
    nextPartial = undefined;
    const stamp = now();
    const namespace = `astro-${displayName}`;
    const deployment: StoredDeployment = existing ?? { id: randomUUID(), account: body.account, name: body.name, created_at: stamp, _readyAt: 0 };
    Object.assign(deployment, {
      display_name: displayName,
      build_id: build.build_id,
      image: build.image,
      namespace,
      deployed_at: stamp,
      errors,
      _readyAt: Date.now() + stepMs,
      _partial: errors.length > 0,
    });
    deployments.set(deployment.id, deployment);
    return {
      status: errors.length ? 207 : 200,
      body: { status: errors.length ? 'partial' : 'success', deployment_id: deployment.id, name: body.name, build_id: build.build_id, errors },
    };
  }

  function handle(method: string, parts: string[], query: Record<string, string>, body: Json, headers: Json): { status: number; body: unknown } {
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw new HttpError(404, 'not found');
    const [collection, ...rest] = parts.slice(2);
    if (collection === 'agents' && rest.length === 1 && method === 'GET') {
      if (rest[0] !== options.account) throw new HttpError(404, 'account not found', `account ${rest[0]} not found`, 'account_not_found');
      const list = [...agents.values()].map((agent) => ({
        account: agent.account,
        name: agent.name,
        archived_at: agent.archived_at,
        // blueprintVersionSummary: build_id, published_at, readme (omitempty) (@7e52620:cmd/blueprint.go).
        versions: agent.builds.map((b) => ({ build_id: b.build_id, published_at: b.registered_at, ...(b.readme ? { readme: b.readme } : {}) })),
      }));
      return { status: 200, body: { agents: list, count: list.length } };
    }
    if (collection === 'agents' && rest.length === 3 && method === 'POST') {
      const [account, name, action] = rest;
      if (action === 'register') return { status: 201, body: register(account, name, body) };
      if (action === 'deployment-template') return { status: 200, body: template(account, name, body) };
      if (action === 'archive') {
        const agent = agentOf(account, name);
        agent.archived_at ??= now();
        return { status: 200, body: { account, name, archived_at: agent.archived_at } };
      }
      throw new HttpError(404, 'not found');
    }
    if (collection === 'deploy' && !rest.length && method === 'POST') return deploy(body, headers);
    if (collection === 'deployments' && method === 'GET') {
      if (!rest.length) {
        if (!query.account) throw new HttpError(400, 'invalid request', 'account is required');
        if (query.account !== options.account) throw new HttpError(403, 'forbidden', `no access to account ${query.account}`);
        const list = [...deployments.values()].map(serialize);
        return { status: 200, body: { deployments: list, count: list.length } };
      }
      if (rest.length === 1) {
        const deployment = deployments.get(rest[0]);
        if (!deployment) throw new HttpError(404, 'not found', `deployment ${rest[0]} not found`);
        return { status: 200, body: { deployment: serialize(deployment) } };
      }
    }
    if (collection === 'undeploy' && !rest.length && method === 'POST') {
      if (typeof body.deployment_id !== 'string' || !body.deployment_id) throw new HttpError(400, 'invalid request', 'missing required field(s): deployment_id');
      if (!deployments.delete(body.deployment_id)) throw new HttpError(404, 'not found', `deployment ${body.deployment_id} not found`);
      return { status: 200, body: { status: 'undeployed', deployment_id: body.deployment_id } };
    }
    throw new HttpError(404, 'not found');
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      const query = Object.fromEntries(url.searchParams);
      const record: RecordedRequest = { method: req.method ?? 'GET', path, query, headers: req.headers };
      requests.push(record);
      const send = (status: number, body: unknown) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const routeKey = `${record.method} ${path.replace(/^\/api\/v1/, '')}`;
      const fault = faults.find((candidate) => candidate.times > 0 && candidate.route.test(routeKey));
      if (fault) fault.times--;
      if (fault?.when === 'before') return send(fault.status, { error: `injected ${fault.status}` });
      const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!bearer) return send(401, { error: 'unauthorized', details: 'authentication required' });
      if (bearer !== options.token) return send(401, { error: 'unauthorized', details: 'invalid token' });
      const raw = Buffer.concat(chunks);
      const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
      const stored = parts[2] === 'deployments' ? deployments.get(parts[3]) : undefined;
      if (sidecars.serve(req, res, parts, raw, stored && { ready: !stored._partial && Date.now() >= stored._readyAt })) {
        record.status = res.statusCode;
        record.body = parseObject(raw);
        return;
      }
      let body: Json = {};
      if (raw.length) {
        try {
          const parsed = JSON.parse(raw.toString('utf8'));
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed;
        } catch {
          return send(400, { error: 'invalid request', details: 'body must be a JSON object' });
        }
      }
      record.body = body;
      try {
        const result = handle(record.method, path.split('/').filter(Boolean).map(decodeURIComponent), query, body, req.headers);
        if (fault) return send(fault.status, { error: `injected ${fault.status}` });
        send(result.status, result.body);
      } catch (err) {
        if (err instanceof HttpError) return send(err.status, { error: err.error, details: err.details, error_code: err.errorCode });
        send(500, { error: 'server error', details: String((err as Error).message) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    requests,
    failNext(route, status, times = 1, when = 'before') {
      faults.push({ route, status, times, when });
    },
    partialNextDeploy(errors) {
      nextPartial = errors;
    },
    occupy(displayName, agentName) {
      const stamp = now();
      const deployment: StoredDeployment = {
        id: randomUUID(),
        account: options.account,
        name: agentName,
        display_name: displayName,
        created_at: stamp,
        deployed_at: stamp,
        build_id: 'other0001',
        namespace: `astro-${displayName}`,
        errors: [],
        _readyAt: 0,
      };
      deployments.set(deployment.id, deployment);
      return serialize(deployment);
    },
    deployments: () => [...deployments.values()].map((deployment) => ({ ...serialize(deployment), image: deployment.image })),
    agents: () => [...agents.values()].map((agent) => ({ ...agent, builds: agent.builds.map((build) => ({ ...build })) })),
    messaging: { conversations: () => sidecars.conversations(), openStreams: () => sidecars.openStreams() },
    close: () =>
      new Promise<void>((resolve, reject) => {
        sidecars.close();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** JSON with sorted keys, so a signature does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Json)
      .filter((key) => (value as Json)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function parseObject(raw: Buffer): Json | undefined {
  try {
    const parsed = JSON.parse(raw.toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
