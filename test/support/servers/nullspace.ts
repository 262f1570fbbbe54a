/**
 * An in-memory Nullspace API over node:http for tests, after its API reference (docs.ns.rocks
 * api-reference/agent-deployments: create-an-agent-deployment, create-an-agent-deployment-version,
 * upload-an-agent-deployment-version-bundle; seed 004 for create-an-agent-service-instance) and
 * its guide (docs.ns.rocks agents/deployments):
 *
 *   POST   /v1/agent-deployments                  {name 1..128, mode job|service, metadata?} → 201 adpl_… (status active)
 *   POST   /v1/agent-deployments/{id}/versions     {bundle_manifest, config} → 201 adpv_… (status created); 422 when
 *          either is missing or invalid ("a validated bundle manifest and deployment config"; env names only;
 *          debug only retain_on_failure/retain_seconds; service port 1..65535; readiness type http|tcp|timeout)
 *   PUT    /v1/agent-deployments/{id}/versions/{vid}/bundle   plain tar, X-Nullspace-Bundle-Digest equal to the
 *          manifest's bundle_digest → the version, ready, and the deployment's active version
 *   POST   /v1/agent-deployments/{id}/services     {version_id, envs} → 201 adsvc_…; the version must be a ready
 *          version of this same deployment
 *   GET    /v1/agent-deployments/{id}/services?status&version_id&limit&cursor → {items, next_cursor}
 * ASSUMED (not documented REST routes; each can be switched off to answer 405, as a server without it would):
 *   GET    /v1/agent-deployments?limit&cursor      → {items, next_cursor}          (routes.listDeployments)
 *   GET    /v1/agent-deployments/{id}, GET …/versions/{vid}                        (routes.getOne)
 *   DELETE /v1/agent-deployments/{id}              → status deleted, its services stopped (routes.deleteDeployment)
 *   GET    …/services/{sid}, POST …/services/{sid}/stop (409 when stopping or stopped),
 *   POST   …/services/{sid}/restart (409 unless stopped/failed/unhealthy)
 *
 * Every create takes an Idempotency-Key: the same key and body replay the first answer (with the
 * current state of what it made); the same key with another body is 422 (IETF idempotency-key
 * draft; the reference names no status). Errors are `{error: code, message}` (ASSUMED). Services go
 * starting → ready (or failed, for a version marked with `crash`) after `stepMs`; a ready service
 * carries a signed `public_url` with an `edge_token`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  status?: number;
  bodyBytes: number;
  /** The JSON body, when there was one. */
  body?: Json;
}

export interface NullspaceServer {
  url: string;
  requests: RecordedRequest[];
  /** Every edge_token handed out, to search outputs for. */
  edgeTokens: string[];
  /**
   * The next `times` requests whose `METHOD /path` matches answer `status`. With `when: 'after'`
   * (the default) the work is done first and only the answer is lost.
   */
  failNext(route: RegExp, status: number, times?: number, when?: 'before' | 'after', message?: string): void;
  /** Services started from this version fail instead of becoming ready. */
  crash(versionId: string, reason: string): void;
  /** Services started from the next version created fail instead of becoming ready. */
  crashNextVersion(reason: string): void;
  services(): Json[];
  versions(): Json[];
  agentDeployments(): Json[];
  close(): Promise<void>;
}

interface Fault {
  route: RegExp;
  status: number;
  times: number;
  when: 'before' | 'after';
  message?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NullspaceRoutes {
  listDeployments?: boolean;
  getOne?: boolean;
  deleteDeployment?: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The version create's checks, as the reference describes them; the first problem found is the message. */
function versionProblem(input: Json, mode: string): string | undefined {
  const manifest = input.bundle_manifest;
  const config = input.config;
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) return 'bundle_manifest is required';
  if (typeof manifest.bundle_digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(manifest.bundle_digest)) return 'bundle_manifest.bundle_digest must be sha256:<hex>';
  if (typeof manifest.config_digest !== 'string' || !manifest.config_digest) return 'bundle_manifest.config_digest is required';
  if (manifest.archive_format !== 'tar') return 'bundle_manifest.archive_format must be "tar"';
  if (!Array.isArray(manifest.entries)) return 'bundle_manifest.entries is required';
  if (!Number.isInteger(manifest.file_count) || manifest.file_count < 1) return 'bundle_manifest.file_count must be >= 1';
  if (!config || typeof config !== 'object' || Array.isArray(config)) return 'config is required';
  if (typeof config.entrypoint !== 'string' || !config.entrypoint.trim()) return 'config.entrypoint is required';
  const env = config.env ?? {};
  for (const list of ['required', 'optional']) {
    const names = env[list] ?? [];
    if (!Array.isArray(names) || names.some((name: unknown) => typeof name !== 'string' || !ENV_NAME.test(name))) {
      return `config.env.${list} must list environment variable names only`;
    }
  }
  if (Object.keys(env).some((key) => key !== 'required' && key !== 'optional')) return 'config.env takes only required and optional name lists';
  if (config.debug !== undefined && Object.keys(config.debug).some((key) => key !== 'retain_on_failure' && key !== 'retain_seconds')) {
    return 'config.debug accepts only retain_on_failure and retain_seconds';
  }
  if (mode === 'service') {
    const port = config.service?.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) return 'config.service.port must be 1..65535 for a service deployment';
    const readiness = config.service?.readiness;
    if (readiness !== undefined) {
      if (readiness.type !== undefined && !['http', 'tcp', 'timeout'].includes(readiness.type)) return 'config.service.readiness.type must be http, tcp or timeout';
      if (readiness.path !== undefined && !String(readiness.path).startsWith('/')) return 'config.service.readiness.path must start with /';
    }
  }
  return undefined;
}

export async function startNullspaceServer(options: { apiKey: string; stepMs?: number; routes?: NullspaceRoutes }): Promise<NullspaceServer> {
  const routes = { listDeployments: true, getOne: true, deleteDeployment: true, ...options.routes };
  const stepMs = options.stepMs ?? 50;
  const requests: RecordedRequest[] = [];
  const edgeTokens: string[] = [];
  const faults: Fault[] = [];
  const deployments = new Map<string, Json>();
  const versions = new Map<string, Json>();
  const services = new Map<string, Json & { _started: number; _stopRequested?: number; _edgeToken?: string }>();
  const crashes = new Map<string, string>();
  let nextCrash: string | undefined;
  const idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>();
  let counter = 0;
  let origin = '';

  const newId = (prefix: string) => `${prefix}_${(++counter).toString(16).padStart(8, '0')}${randomBytes(2).toString('hex')}`;
  const now = () => new Date().toISOString();

  function advance(service: Json & { _started: number; _stopRequested?: number; _edgeToken?: string }): void {
    const t = Date.now();
    if (service.status === 'starting' && t - service._started >= stepMs) {
      const reason = crashes.get(service.version_id);
      if (reason) {
        service.status = 'failed';
        service.failure_reason = reason;
        service.readiness_status = { phase: 'failed', probe: 'process exited with code 1' };
      } else {
        service.status = 'ready';
        service._edgeToken = `et_${randomBytes(12).toString('hex')}`;
        edgeTokens.push(service._edgeToken);
        service.public_url = `https://${service.id}.edge.nullspace.test/?edge_token=${service._edgeToken}`;
        service.readiness_status = { phase: 'ready', probe: 'http 200 on /healthz' };
      }
      service.updated_at = now();
    }
    if (service.status === 'stopping' && service._stopRequested !== undefined && t - service._stopRequested >= stepMs) {
      service.status = 'stopped';
      service.stopped_at = now();
      service.updated_at = service.stopped_at;
      service.readiness_status = { phase: 'stopped' };
    }
  }

  function view(service: Json): Json {
    advance(service as any);
    return Object.fromEntries(Object.entries(service).filter(([key]) => !key.startsWith('_')));
  }

  function page(items: Json[], query: Record<string, string>): Json {
    const limit = Math.min(Math.max(Number(query.limit ?? 20) || 20, 1), 100);
    const start = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new HttpError(400, 'invalid_cursor', 'cursor is not valid');
    const slice = items.slice(start, start + limit);
    const next = start + limit < items.length ? Buffer.from(String(start + limit)).toString('base64url') : null;
    return { items: slice, next_cursor: next };
  }

  function deploymentOf(id: string): Json {
    const deployment = deployments.get(id);
    if (!deployment) throw new HttpError(404, 'not_found', `agent deployment ${id} not found`);
    return deployment;
  }

  function serviceOf(deploymentId: string, id: string) {
    deploymentOf(deploymentId);
    const service = services.get(id);
    if (!service || service.deployment_id !== deploymentId) throw new HttpError(404, 'not_found', `service ${id} not found`);
    return service;
  }

  function handle(method: string, parts: string[], query: Record<string, string>, headers: IncomingMessage['headers'], body: Buffer): { status: number; body: Json } {
    const json = (): Json => {
      if (!body.length) return {};
      if (!String(headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send application/json');
      try {
        const parsed = JSON.parse(body.toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        return parsed;
      } catch {
        throw new HttpError(400, 'invalid_json', 'body is not a JSON object');
      }
    };
    // parts: ['v1', 'agent-deployments', id?, sub?, subId?, action?]
    if (parts[0] !== 'v1' || parts[1] !== 'agent-deployments') throw new HttpError(404, 'not_found', 'no such route');
    const [, , deploymentId, sub, subId, action] = parts;

    const notOffered = () => new HttpError(405, 'method_not_allowed', `${method} ${parts.join('/')} is not offered`);
    if (!deploymentId) {
      if (method === 'GET') {
        if (!routes.listDeployments) throw notOffered();
        return { status: 200, body: page([...deployments.values()], query) };
      }
      if (method === 'POST') {
        const input = json();
        if (typeof input.name !== 'string' || input.name.length < 1 || input.name.length > 128) throw new HttpError(422, 'validation_error', 'name must be 1-128 characters');
        if (input.mode !== 'service' && input.mode !== 'job') throw new HttpError(422, 'validation_error', 'mode must be job or service');
        if (input.metadata !== undefined && (typeof input.metadata !== 'object' || Array.isArray(input.metadata)))
          throw new HttpError(422, 'validation_error', 'metadata must be an object');
        // ASSUMED: a name is taken until its deployment is deleted.
        if ([...deployments.values()].some((existing) => existing.name === input.name && existing.status !== 'deleted')) {
          throw new HttpError(409, 'name_conflict', `an agent deployment named ${input.name} exists`);
        }
        const at = now();
        const created = {
          id: newId('adpl'),
          name: input.name,
          mode: input.mode,
          status: 'active',
          description: input.description ?? null,
          metadata: input.metadata ?? {},
          active_version_id: null,
          created_at: at,
          updated_at: at,
          deleted_at: null,
        };
        deployments.set(created.id, created);
        return { status: 201, body: created };
      }
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }

    const deployment = deploymentOf(deploymentId);
    if (!sub) {
      if (method === 'GET') {
        if (!routes.getOne) throw notOffered();
        return { status: 200, body: deployment };
      }
      if (method === 'DELETE') {
        if (!routes.deleteDeployment) throw notOffered();
        if (deployment.status !== 'deleted') {
          for (const service of services.values()) {
            if (service.deployment_id !== deploymentId) continue;
            advance(service);
            if (service.status !== 'stopped') Object.assign(service, { status: 'stopped', public_url: null, stopped_at: now(), updated_at: now() });
          }
          Object.assign(deployment, { status: 'deleted', deleted_at: now(), updated_at: now() });
        }
        return { status: 200, body: deployment };
      }
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }
    if (deployment.status === 'deleted') throw new HttpError(404, 'not_found', `agent deployment ${deploymentId} is deleted`);

    if (sub === 'versions') {
      if (!subId) {
        if (method === 'POST') {
          const input = json();
          const problem = versionProblem(input, deployment.mode);
          if (problem) throw new HttpError(422, 'validation_error', problem);
          const at = now();
          const number = [...versions.values()].filter((v) => v.deployment_id === deploymentId).length + 1;
          const version = {
            id: newId('adpv'),
            deployment_id: deploymentId,
            version_number: number,
            status: 'created',
            bundle_digest: input.bundle_manifest.bundle_digest,
            bundle_manifest: input.bundle_manifest,
            config: input.config,
            created_at: at,
            updated_at: at,
          };
          versions.set(version.id, version);
          if (nextCrash) crashes.set(version.id, nextCrash);
          nextCrash = undefined;
          return { status: 201, body: version };
        }
        throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
      }
      const version = versions.get(subId);
      if (!version || version.deployment_id !== deploymentId) throw new HttpError(404, 'not_found', `version ${subId} not found in agent deployment ${deploymentId}`);
      if (!action && method === 'GET') {
        if (!routes.getOne) throw notOffered();
        return { status: 200, body: version };
      }
      if (action === 'bundle' && method === 'PUT') {
        if (String(headers['content-type'] ?? '') !== 'application/x-tar') throw new HttpError(415, 'unsupported_media_type', 'the bundle must be application/x-tar');
        const claimed = String(headers['x-nullspace-bundle-digest'] ?? '');
        if (!claimed) throw new HttpError(400, 'missing_digest', 'X-Nullspace-Bundle-Digest is required');
        // "Content-addressed bundle digest from the version manifest."
        if (claimed !== version.bundle_manifest.bundle_digest) throw new HttpError(422, 'digest_mismatch', 'X-Nullspace-Bundle-Digest differs from the version manifest');
        const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        if (claimed !== actual) throw new HttpError(422, 'digest_mismatch', 'the bundle does not match X-Nullspace-Bundle-Digest');
        if (body.length < 1024 || body.subarray(257, 262).toString('latin1') !== 'ustar') throw new HttpError(422, 'invalid_bundle', 'the bundle is not a plain tar archive');
        // "A successful upload marks the version ready and activates it for the deployment."
        version.status = 'ready';
        version.bundle_bytes = body.length;
        version.updated_at = now();
        deployment.active_version_id = version.id;
        return { status: 200, body: version };
      }
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }

    if (sub === 'services') {
      if (!subId) {
        if (method === 'GET') {
          const items = [...services.values()]
            .filter((s) => s.deployment_id === deploymentId)
            .map(view)
            .filter((s) => (!query.status || s.status === query.status) && (!query.version_id || s.version_id === query.version_id))
            .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
          return { status: 200, body: page(items, query) };
        }
        if (method === 'POST') {
          const input = json();
          if (input.envs !== undefined) {
            if (typeof input.envs !== 'object' || Array.isArray(input.envs) || Object.values(input.envs).some((v) => typeof v !== 'string')) {
              throw new HttpError(422, 'validation_error', 'envs values must be strings');
            }
          }
          let versionId: string | undefined = input.version_id ?? undefined;
          if (versionId === undefined) {
            versionId = deployment.active_version_id ?? undefined;
            if (!versionId) throw new HttpError(409, 'no_active_version', 'the agent deployment has no active version');
          }
          const version = versions.get(versionId!);
          // A service starts from a version of its own deployment.
          if (!version || version.deployment_id !== deploymentId) throw new HttpError(404, 'not_found', `version ${versionId} not found in agent deployment ${deploymentId}`);
          if (version.status !== 'ready') throw new HttpError(409, 'version_not_ready', `version ${versionId} is ${version.status}; upload its bundle first`);
          const at = now();
          const service = {
            id: newId('adsvc'),
            deployment_id: deploymentId,
            version_id: versionId,
            status: 'starting',
            port: 32768 + (counter % 20000),
            created_at: at,
            updated_at: at,
            sandbox_id: `sbx_${randomBytes(4).toString('hex')}`,
            process_id: 1000 + counter,
            public_url: null,
            readiness_status: { phase: 'starting' },
            failure_reason: null,
            started_at: at,
            stopped_at: null,
            idempotency_key: String(headers['idempotency-key']),
            _started: Date.now(),
          };
          // envs are write-only: never stored.
          services.set(service.id, service);
          return { status: 201, body: view(service) };
        }
        throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
      }
      const service = serviceOf(deploymentId, subId);
      if (!action && method === 'GET') return { status: 200, body: view(service) };
      if (action === 'stop' && method === 'POST') {
        advance(service);
        if (service.status === 'stopped' || service.status === 'stopping') throw new HttpError(409, 'invalid_state', `service ${subId} is already ${service.status}`);
        service.status = 'stopping';
        service._stopRequested = Date.now();
        service.public_url = null;
        service.updated_at = now();
        return { status: 202, body: view(service) };
      }
      if (action === 'restart' && method === 'POST') {
        advance(service);
        if (!['stopped', 'failed', 'unhealthy'].includes(service.status)) throw new HttpError(409, 'invalid_state', `service ${subId} is ${service.status}`);
        Object.assign(service, {
          status: 'starting',
          _started: Date.now(),
          _stopRequested: undefined,
          failure_reason: null,
          stopped_at: null,
          started_at: now(),
          updated_at: now(),
        });
        return { status: 202, body: view(service) };
      }
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }
    throw new HttpError(404, 'not_found', 'no such route');
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', origin);
      const method = req.method ?? 'GET';
      const query = Object.fromEntries(url.searchParams);
      const record: RecordedRequest = { method, path: url.pathname, query, headers: req.headers, bodyBytes: body.length };
      if (String(req.headers['content-type'] ?? '').startsWith('application/json') && body.length) {
        try {
          record.body = JSON.parse(body.toString('utf8'));
        } catch {
          // not JSON: the handler answers for it
        }
      }
      requests.push(record);
      const send = (status: number, payload: Json) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      const routeKey = `${method} ${url.pathname}`;
      const fault = faults.find((candidate) => candidate.times > 0 && candidate.route.test(routeKey));
      if (fault) fault.times--;
      if (fault?.when === 'before') return send(fault.status, { error: 'injected', message: fault.message ?? `injected HTTP ${fault.status}` });

      let status: number;
      let payload: Json;
      try {
        if (req.headers.authorization !== `Bearer ${options.apiKey}`) throw new HttpError(401, 'unauthorized', 'missing or invalid bearer token');
        const key = req.headers['idempotency-key'];
        // Creates take a key (the reference lists creates, uploads and agent deployment creates); stop and restart do not.
        const mutating = method === 'POST' && !/\/(stop|restart)$/.test(url.pathname);
        if (mutating && !key) throw new HttpError(400, 'missing_idempotency_key', 'Idempotency-Key header is required');
        const fingerprint = `${routeKey}\n${createHash('sha256').update(body).digest('hex')}`;
        const stored = mutating && typeof key === 'string' ? idempotency.get(key) : undefined;
        if (stored && stored.fingerprint !== fingerprint) {
          throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with another request');
        }
        if (stored) {
          status = stored.status;
          // Replays answer with the current state of what the first call created.
          const id = stored.body.id;
          payload = services.has(id) ? view(services.get(id)!) : (versions.get(id) ?? deployments.get(id) ?? stored.body);
        } else {
          const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
          ({ status, body: payload } = handle(method, parts, query, req.headers, body));
          if (mutating && typeof key === 'string' && status < 300) idempotency.set(key, { fingerprint, status, body: payload });
        }
      } catch (err) {
        if (!(err instanceof HttpError)) {
          status = 500;
          payload = { error: 'internal', message: String((err as Error).message) };
        } else {
          status = err.status;
          payload = { error: err.code, message: err.message };
        }
      }
      if (fault) return send(fault.status, { error: 'injected', message: fault.message ?? `injected HTTP ${fault.status}` });
      send(status, payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    requests,
    edgeTokens,
    failNext(route, status, times = 1, when = 'after', message) {
      faults.push({ route, status, times, when, message });
    },
    crash(versionId, reason) {
      crashes.set(versionId, reason);
    },
    crashNextVersion(reason) {
      nextCrash = reason;
    },
    services: () => [...services.values()].map(view),
    versions: () => [...versions.values()],
    agentDeployments: () => [...deployments.values()],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
