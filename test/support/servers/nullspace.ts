/**
 * An in-memory Nullspace API over node:http for tests. Follows the create-service reference
 * (seed 004) for services; the other routes follow the platform summary, REST-style:
 *
 *   POST /v1/agent-deployments                          {name, mode: 'service', metadata} → 201 adpl_…
 *   GET  /v1/agent-deployments?limit&cursor             → {items, next_cursor}
 *   GET  /v1/agent-deployments/{id}
 *   POST /v1/agent-deployments/{id}/versions            {metadata} → 201 adpv_… (status pending_upload)
 *   GET  /v1/agent-deployments/{id}/versions/{vid}
 *   PUT  /v1/agent-deployments/{id}/versions/{vid}/bundle   plain tar, X-Nullspace-Bundle-Digest → active
 *   POST /v1/agent-deployments/{id}/services            {version_id, envs} → 201 adsvc_…
 *   GET  /v1/agent-deployments/{id}/services?status&version_id&limit&cursor → {items, next_cursor}
 *   GET  /v1/agent-deployments/{id}/services/{sid}
 *   POST /v1/agent-deployments/{id}/services/{sid}/stop      → 202 (409 when stopping or stopped)
 *   POST /v1/agent-deployments/{id}/services/{sid}/restart   → 202 (409 unless stopped/failed/unhealthy)
 *
 * Every create (POST other than stop/restart) needs an Idempotency-Key: the same key and body replay the first answer; the same key
 * with another body is 422 (IETF idempotency-key draft; the reference names no status). Errors are
 * `{error: code, message}`. Services go starting → ready (or failed, for a version marked with
 * `crash`) after `stepMs`; a ready service carries a signed `public_url` with an `edge_token`.
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

export async function startNullspaceServer(options: { apiKey: string; stepMs?: number }): Promise<NullspaceServer> {
  const stepMs = options.stepMs ?? 50;
  const requests: RecordedRequest[] = [];
  const edgeTokens: string[] = [];
  const faults: Fault[] = [];
  const deployments = new Map<string, Json>();
  const versions = new Map<string, Json>();
  const services = new Map<string, Json & { _started: number; _stopRequested?: number; _edgeToken?: string }>();
  const crashes = new Map<string, string>();
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

    if (!deploymentId) {
      if (method === 'GET') return { status: 200, body: page([...deployments.values()], query) };
      if (method === 'POST') {
        const input = json();
        if (typeof input.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new HttpError(422, 'validation_error', 'name must be 1-63 lowercase letters, digits or hyphens');
        if (input.mode !== 'service') throw new HttpError(422, 'validation_error', 'mode must be "service"');
        if (input.metadata !== undefined && (typeof input.metadata !== 'object' || Array.isArray(input.metadata))) throw new HttpError(422, 'validation_error', 'metadata must be an object');
        if ([...deployments.values()].some((existing) => existing.name === input.name)) throw new HttpError(409, 'name_conflict', `an agent deployment named ${input.name} exists`);
        const created = { id: newId('adpl'), name: input.name, mode: 'service', metadata: input.metadata ?? {}, created_at: now(), updated_at: now() };
        deployments.set(created.id, created);
        return { status: 201, body: created };
      }
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }

    const deployment = deploymentOf(deploymentId);
    if (!sub) {
      if (method === 'GET') return { status: 200, body: deployment };
      throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
    }

    if (sub === 'versions') {
      if (!subId) {
        if (method === 'POST') {
          const input = json();
          const version = { id: newId('adpv'), deployment_id: deploymentId, status: 'pending_upload', bundle_digest: null, metadata: input.metadata ?? {}, created_at: now(), updated_at: now() };
          versions.set(version.id, version);
          return { status: 201, body: version };
        }
        if (method === 'GET') return { status: 200, body: page([...versions.values()].filter((v) => v.deployment_id === deploymentId), query) };
        throw new HttpError(405, 'method_not_allowed', `${method} not allowed`);
      }
      const version = versions.get(subId);
      if (!version || version.deployment_id !== deploymentId) throw new HttpError(404, 'not_found', `version ${subId} not found`);
      if (!action && method === 'GET') return { status: 200, body: version };
      if (action === 'bundle' && method === 'PUT') {
        if (String(headers['content-type'] ?? '') !== 'application/x-tar') throw new HttpError(415, 'unsupported_media_type', 'the bundle must be application/x-tar');
        const claimed = String(headers['x-nullspace-bundle-digest'] ?? '');
        if (!claimed) throw new HttpError(400, 'missing_digest', 'X-Nullspace-Bundle-Digest is required');
        const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        if (claimed !== actual) throw new HttpError(422, 'digest_mismatch', 'the bundle does not match X-Nullspace-Bundle-Digest');
        if (body.length < 1024 || body.subarray(257, 262).toString('latin1') !== 'ustar') throw new HttpError(422, 'invalid_bundle', 'the bundle is not a plain tar archive');
        if (version.status === 'active') {
          if (version.bundle_digest === actual) return { status: 200, body: version };
          throw new HttpError(409, 'version_immutable', 'this version already holds another bundle');
        }
        version.status = 'active';
        version.bundle_digest = actual;
        version.bundle_bytes = body.length;
        version.updated_at = now();
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
            versionId = [...versions.values()].filter((v) => v.deployment_id === deploymentId && v.status === 'active').at(-1)?.id;
            if (!versionId) throw new HttpError(409, 'no_active_version', 'the agent deployment has no active version');
          }
          const version = versions.get(versionId);
          if (!version) throw new HttpError(404, 'not_found', `version ${versionId} not found`);
          if (version.status !== 'active') throw new HttpError(409, 'version_not_active', `version ${versionId} is ${version.status}; upload its bundle first`);
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
        Object.assign(service, { status: 'starting', _started: Date.now(), _stopRequested: undefined, failure_reason: null, stopped_at: null, started_at: now(), updated_at: now() });
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
