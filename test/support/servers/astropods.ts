/**
 * An in-memory Astropods (astro-api) server over node:http for tests, after the deploy reference
 * (seed 003) and the platform summary. Routes under `/api/v1`, auth `Authorization: Bearer <token>`,
 * errors `{error, details}`:
 *
 *   POST /api/v1/agents/{account}/{name}/register {image}           → {account, name, build_id, image, registered_at}
 *   POST /api/v1/agents/{account}/{name}/deployment-template {display_name?}
 *                                                                    → {template, signature} (only with templateFlow; else 404)
 *   POST /api/v1/deploy {account, name, display_name?, ...}          → 200 {status: success, name, build_id, k8s_namespace,
 *                                                                       deployed_at, resources, service_endpoints, errors}
 *                                                                       or 207 {status: partial, ..., errors}; 409 when the display
 *                                                                       name is held by another agent's deployment; with templateFlow
 *                                                                       the body must come with a valid X-Template-Signature
 *   GET  /api/v1/deployments?account=X                               → {deployments: [...]}
 *   GET  /api/v1/deployments/{id}                                    → deployment with external_urls [{name, url, type, ready}]
 *   POST /api/v1/undeploy {deployment_id}                            → {status: undeployed}; 404 when unknown or already undeployed
 *
 * A deploy "creates or updates": deploying the same agent under the same display name updates the
 * deployment in place. External URLs turn ready `stepMs` after a deploy.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { RecordedRequest } from './recorded.js';

export type { RecordedRequest };

type Json = Record<string, any>;


export interface AstropodsServer {
  url: string;
  requests: RecordedRequest[];
  /** The next `times` requests whose `METHOD /path` (without /api/v1) matches answer `status`, before any work. */
  failNext(route: RegExp, status: number, times?: number): void;
  /** The next deploy half works: it answers 207 `partial` with these errors and its URLs never turn ready. */
  partialNextDeploy(errors: string[]): void;
  /** A deployment of another agent holding a display name, as another user of the account would make. */
  occupy(displayName: string, agentName: string): Json;
  deployments(): Json[];
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly details?: string,
  ) {
    super(error);
  }
}

interface StoredDeployment extends Json {
  _readyAt: number;
  _partial?: boolean;
}

export async function startAstropodsServer(options: {
  token: string;
  account: string;
  stepMs?: number;
  templateFlow?: boolean;
  /** Put a ready URL carrying a credential before the public one. */
  credentialUrl?: boolean;
  /** Give deployments no public `web` URL (default true), as a deployment with no ingress has. */
  publicUrl?: boolean;
}): Promise<AstropodsServer> {
  const stepMs = options.stepMs ?? 50;
  const signingKey = randomUUID();
  const requests: RecordedRequest[] = [];
  const faults: { route: RegExp; status: number; times: number }[] = [];
  const agents = new Map<string, { builds: Json[] }>();
  const deployments = new Map<string, StoredDeployment>();
  let nextPartial: string[] | undefined;
  let lastTime = 0;
  const now = () => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return new Date(lastTime).toISOString();
  };

  const sign = (template: Json) => createHmac('sha256', signingKey).update(canonical(template)).digest('hex');

  function serialize(deployment: StoredDeployment): Json {
    const ready = !deployment._partial && Date.now() >= deployment._readyAt;
    const status = deployment._partial ? 'partial' : ready ? 'running' : 'deploying';
    const host = `${deployment.display_name}.${deployment.account}.astropods.app`;
    const external_urls: Json[] = [];
    if (options.credentialUrl) external_urls.push({ name: 'admin', url: `https://${host}/admin?token=adm-secret-123`, type: 'admin', ready });
    if (options.publicUrl !== false) external_urls.push({ name: 'web', url: `https://${host}`, type: 'web', ready });
    const { _readyAt, _partial, ...rest } = deployment;
    return { ...rest, status, external_urls };
  }

  function deploy(body: Json): { status: number; body: Json } {
    if (typeof body.account !== 'string' || !body.account) throw new HttpError(400, 'invalid request', 'account is required');
    if (typeof body.name !== 'string' || !body.name) throw new HttpError(400, 'invalid request', 'name is required');
    if (body.account !== options.account) throw new HttpError(403, 'forbidden', `no access to account ${body.account}`);
    const agent = agents.get(`${body.account}/${body.name}`);
    if (!agent?.builds.length) throw new HttpError(404, 'not found', `agent ${body.account}/${body.name} has no build`);
    const build = agent.builds[agent.builds.length - 1];
    const displayName = typeof body.display_name === 'string' && body.display_name ? body.display_name : body.name;
    const holder = [...deployments.values()].find((d) => d.account === body.account && d.display_name === displayName);
    if (holder && holder.name !== body.name) throw new HttpError(409, 'conflict', `display name "${displayName}" is already taken`);
    const namespace = `astro-${displayName}`;
    const errors = nextPartial ?? [];
    nextPartial = undefined;
    const deployedAt = now();
    const deployment: StoredDeployment = holder ?? {
      id: randomUUID(),
      account: body.account,
      name: body.name,
      display_name: displayName,
      created_at: deployedAt,
      _readyAt: 0,
    };
    Object.assign(deployment, {
      build_id: build.build_id,
      image: build.image,
      k8s_namespace: namespace,
      deployed_at: deployedAt,
      interfaces: body.interfaces ?? [],
      resources: [
        { kind: 'Namespace', name: namespace, status: 'configured' },
        { kind: 'Deployment', name: displayName, status: errors.length ? 'failed' : 'configured' },
      ],
      service_endpoints: [{ name: displayName, url: `http://${displayName}.${namespace}.svc.cluster.local`, type: 'ClusterIP' }],
      errors,
      _readyAt: Date.now() + stepMs,
      _partial: errors.length > 0,
    });
    deployments.set(deployment.id, deployment);
    return {
      status: errors.length ? 207 : 200,
      body: {
        status: errors.length ? 'partial' : 'success',
        name: body.name,
        build_id: build.build_id,
        k8s_namespace: namespace,
        deployed_at: deployedAt,
        resources: deployment.resources,
        service_endpoints: deployment.service_endpoints,
        errors,
      },
    };
  }

  function handle(method: string, parts: string[], query: Record<string, string>, body: Json, headers: Json): { status: number; body: unknown } {
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw new HttpError(404, 'not found');
    const [collection, ...rest] = parts.slice(2);
    if (collection === 'agents' && rest.length === 3 && method === 'POST') {
      const [account, name, action] = rest;
      if (account !== options.account) throw new HttpError(403, 'forbidden', `no access to account ${account}`);
      if (action === 'register') {
        if (typeof body.image !== 'string' || !/^[^\s:]+(:[^\s:]+)?$/.test(body.image)) throw new HttpError(400, 'invalid request', 'image must be repository:tag');
        const key = `${account}/${name}`;
        const agent = agents.get(key) ?? { builds: [] };
        agents.set(key, agent);
        const build = { account, name, build_id: `build-${agent.builds.length + 1}-${randomUUID().slice(0, 8)}`, image: body.image, registered_at: now() };
        agent.builds.push(build);
        return { status: 200, body: build };
      }
      if (action === 'deployment-template' && options.templateFlow) {
        const agent = agents.get(`${account}/${name}`);
        if (!agent?.builds.length) throw new HttpError(404, 'not found', `agent ${account}/${name} has no build`);
        const displayName = typeof body.display_name === 'string' && body.display_name ? body.display_name : name;
        const holder = [...deployments.values()].find((d) => d.account === account && d.display_name === displayName);
        if (holder && holder.name !== name) throw new HttpError(409, 'conflict', `display name "${displayName}" is already taken`);
        const template = { account, name, display_name: displayName, build_id: agent.builds[agent.builds.length - 1].build_id, interfaces: ['web'] };
        return { status: 200, body: { template, signature: sign(template) } };
      }
      throw new HttpError(404, 'not found');
    }
    if (collection === 'deploy' && !rest.length && method === 'POST') {
      if (options.templateFlow) {
        const signature = String(headers['x-template-signature'] ?? '');
        const expected = sign(body);
        if (!signature || signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
          throw new HttpError(403, 'forbidden', 'missing or invalid X-Template-Signature');
        }
      }
      return deploy(body);
    }
    if (collection === 'deployments' && method === 'GET') {
      if (!rest.length) {
        if (!query.account) throw new HttpError(400, 'invalid request', 'account is required');
        if (query.account !== options.account) throw new HttpError(403, 'forbidden', `no access to account ${query.account}`);
        return { status: 200, body: { deployments: [...deployments.values()].filter((d) => d.account === query.account).map(serialize) } };
      }
      if (rest.length === 1) {
        const deployment = deployments.get(rest[0]);
        if (!deployment) throw new HttpError(404, 'not found', `deployment ${rest[0]} not found`);
        return { status: 200, body: serialize(deployment) };
      }
    }
    if (collection === 'undeploy' && !rest.length && method === 'POST') {
      if (typeof body.deployment_id !== 'string') throw new HttpError(400, 'invalid request', 'deployment_id is required');
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
      if (fault) {
        fault.times--;
        return send(fault.status, { error: `injected ${fault.status}` });
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!bearer) return send(401, { error: 'unauthorized', details: 'authentication required' });
      if (bearer !== options.token) return send(401, { error: 'unauthorized', details: 'invalid token' });
      let body: Json = {};
      const raw = Buffer.concat(chunks);
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
        send(result.status, result.body);
      } catch (err) {
        if (err instanceof HttpError) return send(err.status, { error: err.error, details: err.details });
        send(500, { error: 'server error', details: String((err as Error).message) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    requests,
    failNext(route, status, times = 1) {
      faults.push({ route, status, times });
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
        build_id: 'build-other',
        k8s_namespace: `astro-${displayName}`,
        resources: [],
        service_endpoints: [],
        errors: [],
        _readyAt: 0,
      };
      deployments.set(deployment.id, deployment);
      return serialize(deployment);
    },
    deployments: () => [...deployments.values()].map(serialize),
    close: () =>
      new Promise<void>((resolve, reject) => {
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
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
