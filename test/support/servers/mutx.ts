/**
 * An in-memory MUTX API over node:http for tests, after the deployments reference (seed 002) and
 * the platform summary. Routes under `/v1`, auth `Authorization: Bearer <key>` or `X-API-Key`:
 *
 *   POST   /v1/agents {name, description, type, config}        → 201 agent (status creating)
 *   GET    /v1/agents?skip&limit                                → {items, total, skip, limit, has_more}
 *   GET    /v1/agents/{id}                                      → agent with its deployments
 *   POST   /v1/agents/{id}/deploy                               → {deployment_id, status: deploying}
 *   POST   /v1/agents/{id}/stop                                 → running/deploying deployments stopped
 *   POST   /v1/deployments {agent_id, replicas 1..10}           → 201 deployment (status pending)
 *   GET    /v1/deployments?skip&limit&agent_id&status           → {items, total, skip, limit, has_more}, newest first
 *   GET    /v1/deployments/{id}                                 → deployment with embedded events
 *   GET    /v1/deployments/{id}/events?skip&limit&event_type&status → {deployment_id, deployment_status, items, total, skip, limit, has_more, …}, newest first
 *   GET    /v1/deployments/{id}/logs?skip&limit&level           → [log], newest first (the agent's logs)
 *   GET    /v1/deployments/{id}/metrics?skip&limit              → [metric]
 *   POST   /v1/deployments/{id}/restart                         → 400 unless stopped, failed or killed
 *   POST   /v1/deployments/{id}/scale {replicas}                → 400 "Can only scale running deployments" unless running/ready
 *   DELETE /v1/deployments/{id}                                 → 204, status killed, agent stopped
 *
 * Errors are FastAPI's `{detail}`. Deployments move pending → deploying → running, one step per
 * `stepMs`; `setNextDeploymentFails` makes the next created deployment fail at deploying, with logs.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { RecordedRequest } from './recorded.js';

export type { RecordedRequest };

type Json = Record<string, any>;


export interface MutxServer {
  url: string;
  requests: RecordedRequest[];
  /**
   * The next `times` requests whose `METHOD /path` matches answer `status`. With `when: 'after'`
   * (the default) the work is done first and only the answer is lost.
   */
  failNext(route: RegExp, status: number, times?: number, when?: 'before' | 'after'): void;
  /** The next deployment created fails while deploying, with this error and these agent log lines. */
  setNextDeploymentFails(errorMessage: string, logLines?: string[]): void;
  agents(): Json[];
  deployments(): Json[];
  close(): Promise<void>;
}

interface Fault {
  route: RegExp;
  status: number;
  times: number;
  when: 'before' | 'after';
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
  ) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
}

const AGENT_TYPES = new Set(['openai', 'anthropic', 'langchain', 'custom']);

interface StoredDeployment extends Json {
  _stepAt: number;
  _fail?: { error: string; logs: string[] };
  _created: number;
}

export async function startMutxServer(options: {
  apiKey: string;
  stepMs?: number;
  /** Keep only these config keys, as a per-type config schema that drops unknown fields would. */
  configKeys?: string[];
}): Promise<MutxServer> {
  const stepMs = options.stepMs ?? 50;
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const agents = new Map<string, Json>();
  const deployments = new Map<string, StoredDeployment>();
  const events: Json[] = [];
  const logs: Json[] = [];
  const metrics: Json[] = [];
  let nextFailure: { error: string; logs: string[] } | undefined;
  let lastTime = 0;

  /** Strictly increasing timestamps, so newest-first ordering is well defined. */
  const now = () => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return new Date(lastTime).toISOString();
  };

  function addEvent(deployment: Json, eventType: string, status: string, errorMessage: string | null = null): void {
    events.push({
      id: randomUUID(),
      deployment_id: deployment.id,
      event_type: eventType,
      status,
      node_id: deployment.node_id,
      error_message: errorMessage,
      created_at: now(),
    });
  }

  function addLog(agentId: string, level: string, message: string): void {
    logs.push({ id: randomUUID(), agent_id: agentId, level, message, extra_data: null, timestamp: now() });
  }

  function setAgentStatus(agentId: string, status: string): void {
    const agent = agents.get(agentId);
    if (agent) {
      agent.status = status;
      agent.updated_at = now();
    }
  }

  /** pending → deploying → running (or failed), one step per stepMs. */
  function advance(deployment: StoredDeployment): void {
    for (;;) {
      if (Date.now() - deployment._stepAt < stepMs) return;
      if (deployment.status === 'pending') {
        deployment.status = 'deploying';
        deployment.node_id = 'node-1';
        addEvent(deployment, 'deploy', 'deploying');
        addLog(deployment.agent_id, 'info', `pulling image for deployment ${deployment.id}`);
      } else if (deployment.status === 'deploying') {
        if (deployment._fail) {
          for (const line of deployment._fail.logs) addLog(deployment.agent_id, 'error', line);
          deployment.status = 'failed';
          deployment.error_message = deployment._fail.error;
          deployment.ended_at = now();
          addEvent(deployment, 'fail', 'failed', deployment._fail.error);
          setAgentStatus(deployment.agent_id, 'failed');
        } else {
          deployment.status = 'running';
          addEvent(deployment, 'ready', 'running');
          addLog(deployment.agent_id, 'info', `deployment ${deployment.id} is running with ${deployment.replicas} replica(s)`);
        }
      } else {
        return;
      }
      deployment._stepAt += stepMs;
    }
  }

  function serializeDeployment(deployment: StoredDeployment): Json {
    advance(deployment);
    return {
      id: deployment.id,
      agent_id: deployment.agent_id,
      status: deployment.status,
      version: deployment.version,
      replicas: deployment.replicas,
      node_id: deployment.node_id,
      started_at: deployment.started_at,
      ended_at: deployment.ended_at,
      error_message: deployment.error_message,
      // Embedded events come in insertion order, as the ORM relationship loads them.
      events: events.filter((event) => event.deployment_id === deployment.id),
    };
  }

  function serializeAgent(agent: Json, withDeployments = false): Json {
    const out: Json = { ...agent };
    if (withDeployments) {
      out.deployments = [...deployments.values()].filter((d) => d.agent_id === agent.id).map(serializeDeployment);
    }
    return out;
  }

  function intQuery(query: Record<string, string>, name: string, fallback: number, min: number, max: number): number {
    if (query[name] === undefined) return fallback;
    const value = Number(query[name]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new HttpError(422, [{ loc: ['query', name], msg: `Input should be an integer between ${min} and ${max}`, type: 'value_error' }]);
    }
    return value;
  }

  function envelope(items: Json[], query: Record<string, string>, defaultLimit: number, maxLimit: number, extra: Json = {}): Json {
    const skip = intQuery(query, 'skip', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intQuery(query, 'limit', defaultLimit, 1, maxLimit);
    const page = items.slice(skip, skip + limit);
    return { ...extra, items: page, total: items.length, skip, limit, has_more: skip + page.length < items.length };
  }

  function deploymentOf(id: string): StoredDeployment {
    const deployment = deployments.get(id);
    if (!deployment) throw new HttpError(404, 'Deployment not found');
    return deployment;
  }

  function agentOf(id: string, detail = 'Agent not found'): Json {
    const agent = agents.get(id);
    if (!agent) throw new HttpError(404, detail);
    return agent;
  }

  function newDeployment(agentId: string, replicas: number, status: 'pending' | 'deploying', eventType: string): StoredDeployment {
    const deployment: StoredDeployment = {
      id: randomUUID(),
      agent_id: agentId,
      status,
      version: 'v1.0.0',
      replicas,
      node_id: null,
      started_at: now(),
      ended_at: null,
      error_message: null,
      _stepAt: Date.now(),
      _created: deployments.size,
      _fail: nextFailure,
    };
    nextFailure = undefined;
    deployments.set(deployment.id, deployment);
    addEvent(deployment, eventType, status);
    setAgentStatus(agentId, 'running');
    return deployment;
  }

  function validationError(loc: string, msg: string): HttpError {
    return new HttpError(422, [{ loc: ['body', loc], msg, type: 'value_error' }]);
  }

  function handle(method: string, parts: string[], query: Record<string, string>, body: Json): { status: number; body?: unknown } {
    if (parts[0] !== 'v1') throw new HttpError(404, 'Not Found');
    const [, collection, id, action, ...rest] = parts;
    if (rest.length) throw new HttpError(404, 'Not Found');

    if (collection === 'agents') {
      if (!id) {
        if (method === 'POST') {
          if (typeof body.name !== 'string' || !body.name.trim()) throw validationError('name', 'Field required');
          if (body.name.length > 255) throw validationError('name', 'String should have at most 255 characters');
          const type = body.type ?? 'openai';
          if (!AGENT_TYPES.has(type)) throw validationError('type', `Input should be ${[...AGENT_TYPES].map((t) => `'${t}'`).join(', ')}`);
          if (body.config !== undefined && body.config !== null && (typeof body.config !== 'object' || Array.isArray(body.config))) {
            throw new HttpError(400, 'Invalid JSON in agent configuration');
          }
          const stamp = now();
          const agent = {
            id: randomUUID(),
            name: body.name,
            description: body.description ?? null,
            type,
            status: 'creating',
            config: options.configKeys
              ? Object.fromEntries(Object.entries(body.config ?? {}).filter(([key]) => options.configKeys!.includes(key)))
              : (body.config ?? {}),
            created_at: stamp,
            updated_at: stamp,
            user_id: 'user-1',
          };
          agents.set(agent.id, agent);
          return { status: 201, body: serializeAgent(agent) };
        }
        if (method === 'GET') {
          const all = [...agents.values()].reverse().map((agent) => serializeAgent(agent));
          return { status: 200, body: envelope(all, query, 50, 100) };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      const agent = agentOf(id);
      if (!action) {
        if (method === 'GET') return { status: 200, body: serializeAgent(agent, true) };
        if (method === 'DELETE') {
          agents.delete(id);
          for (const [deploymentId, deployment] of deployments) if (deployment.agent_id === id) deployments.delete(deploymentId);
          return { status: 204 };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      if (action === 'deploy' && method === 'POST') {
        const deployment = newDeployment(id, 1, 'deploying', 'deploy');
        return { status: 200, body: { deployment_id: deployment.id, status: 'deploying' } };
      }
      if (action === 'stop' && method === 'POST') {
        for (const deployment of deployments.values()) {
          advance(deployment);
          if (deployment.agent_id === id && (deployment.status === 'running' || deployment.status === 'deploying')) {
            deployment.status = 'stopped';
            deployment.ended_at = now();
            addEvent(deployment, 'stop', 'stopped');
          }
        }
        setAgentStatus(agent.id, 'stopped');
        return { status: 200, body: { status: 'stopped' } };
      }
      throw new HttpError(404, 'Not Found');
    }

    if (collection === 'deployments') {
      if (!id) {
        if (method === 'POST') {
          if (typeof body.agent_id !== 'string') throw validationError('agent_id', 'Field required');
          const replicas = body.replicas ?? 1;
          if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10) throw validationError('replicas', 'Input should be between 1 and 10');
          const agent = agentOf(body.agent_id);
          if (agent.status === 'deleting') throw new HttpError(400, 'Cannot deploy an agent that is being deleted');
          const deployment = newDeployment(agent.id, replicas, 'pending', 'create');
          return { status: 201, body: serializeDeployment(deployment) };
        }
        if (method === 'GET') {
          if (query.agent_id) agentOf(query.agent_id);
          const all = [...deployments.values()]
            .sort((a, b) => b._created - a._created)
            .map(serializeDeployment)
            .filter((d) => (!query.agent_id || d.agent_id === query.agent_id) && (!query.status || d.status === query.status));
          return { status: 200, body: envelope(all, query, 50, 100) };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      const deployment = deploymentOf(id);
      advance(deployment);
      if (!action) {
        if (method === 'GET') return { status: 200, body: serializeDeployment(deployment) };
        if (method === 'DELETE') {
          deployment.status = 'killed';
          deployment.ended_at = now();
          addEvent(deployment, 'kill', 'killed');
          setAgentStatus(deployment.agent_id, 'stopped');
          return { status: 204 };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      if (action === 'events' && method === 'GET') {
        const all = events
          .filter((event) => event.deployment_id === id)
          .filter((event) => (!query.event_type || event.event_type === query.event_type) && (!query.status || event.status === query.status))
          .reverse();
        return {
          status: 200,
          body: envelope(all, query, 100, 500, { deployment_id: id, deployment_status: deployment.status, event_type: query.event_type ?? null, status: query.status ?? null }),
        };
      }
      if (action === 'logs' && method === 'GET') {
        const skip = intQuery(query, 'skip', 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intQuery(query, 'limit', 100, 1, 500);
        const all = logs.filter((log) => log.agent_id === deployment.agent_id && (!query.level || log.level === query.level)).reverse();
        return { status: 200, body: all.slice(skip, skip + limit) };
      }
      if (action === 'metrics' && method === 'GET') {
        const skip = intQuery(query, 'skip', 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intQuery(query, 'limit', 100, 1, 500);
        return { status: 200, body: metrics.filter((metric) => metric.agent_id === deployment.agent_id).reverse().slice(skip, skip + limit) };
      }
      if (action === 'restart' && method === 'POST') {
        if (!['stopped', 'failed', 'killed'].includes(deployment.status)) {
          throw new HttpError(
            400,
            `Cannot restart deployment with status '${deployment.status}'. Only stopped, failed, or killed deployments can be restarted.`,
          );
        }
        deployment.status = 'pending';
        deployment.started_at = now();
        deployment.ended_at = null;
        deployment.error_message = null;
        deployment._stepAt = Date.now();
        deployment._fail = undefined;
        addEvent(deployment, 'restart', 'pending');
        setAgentStatus(deployment.agent_id, 'running');
        return { status: 200, body: serializeDeployment(deployment) };
      }
      if (action === 'scale' && method === 'POST') {
        const replicas = body.replicas;
        if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10) throw validationError('replicas', 'Input should be between 1 and 10');
        if (deployment.status !== 'running' && deployment.status !== 'ready') throw new HttpError(400, 'Can only scale running deployments');
        deployment.replicas = replicas;
        addEvent(deployment, 'scale', deployment.status);
        return { status: 200, body: serializeDeployment(deployment) };
      }
      throw new HttpError(404, 'Not Found');
    }
    throw new HttpError(404, 'Not Found');
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const query = Object.fromEntries(url.searchParams);
      const record: RecordedRequest = { method: req.method ?? 'GET', path, query, headers: req.headers };
      requests.push(record);
      const send = (status: number, body?: unknown) => {
        record.status = status;
        if (status === 204 || body === undefined) {
          res.writeHead(status);
          res.end();
          return;
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const routeKey = `${record.method} ${path}`;
      const fault = faults.find((candidate) => candidate.times > 0 && candidate.route.test(routeKey));
      if (fault) fault.times--;
      if (fault?.when === 'before') return send(fault.status, { detail: `injected ${fault.status}` });

      const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      const key = bearer ?? (req.headers['x-api-key'] as string | undefined);
      if (!key) return send(401, { detail: 'Not authenticated' });
      if (key !== options.apiKey) return send(401, { detail: 'Could not validate credentials' });

      let body: Json = {};
      const raw = Buffer.concat(chunks);
      if (raw.length) {
        try {
          const parsed = JSON.parse(raw.toString('utf8'));
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed;
        } catch {
          return send(422, { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] });
        }
      }
      record.body = body;
      try {
        const result = handle(record.method, path.split('/').filter(Boolean).map(decodeURIComponent), query, body);
        if (fault) return send(fault.status, { detail: `injected ${fault.status}` });
        send(result.status, result.body);
      } catch (err) {
        if (err instanceof HttpError) return send(err.status, { detail: err.detail });
        send(500, { detail: String((err as Error).message) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(route, status, times = 1, when = 'after') {
      faults.push({ route, status, times, when });
    },
    setNextDeploymentFails(errorMessage, logLines = []) {
      nextFailure = { error: errorMessage, logs: logLines };
    },
    agents: () => [...agents.values()].map((agent) => serializeAgent(agent)),
    deployments: () => [...deployments.values()].map(serializeDeployment),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
