/**
 * An in-memory MUTX API over node:http for tests, rebuilt from MUTX's own source,
 * mutx-dev/mutx-dev@abdc97527b57fbb7db62bd7b5f28235ae4150c00 (cited below as `@abdc975:file`).
 * Routes under `/v1`, auth `Authorization: Bearer <key>` or `X-API-Key`:
 *
 *   POST   /v1/agents {name, description, type, config}        → 201 agent (status creating)
 *   GET    /v1/agents?skip&limit                                → {items, total, skip, limit, has_more}, newest first
 *   GET    /v1/agents/{id}                                      → agent with its deployments
 *   DELETE /v1/agents/{id}                                      → 204, the agent and its deployments are gone
 *   POST   /v1/deployments {agent_id, replicas 1..10}           → 201 deployment (status pending)
 *   GET    /v1/deployments?skip&limit&agent_id&status           → {items, total, skip, limit, has_more}, newest first
 *   GET    /v1/deployments/{id}                                 → deployment with embedded events
 *   GET    /v1/deployments/{id}/events?skip&limit               → {deployment_id, deployment_status, items, …}, newest first
 *   GET    /v1/deployments/{id}/logs?skip&limit&level           → {deployment_id, items, total, skip, limit, has_more, level}, newest first
 *   DELETE /v1/deployments/{id}                                 → 204, status killed, agent stopped
 *
 * Errors, as the real API answers them: an `HTTPException` is FastAPI's `{detail}`; a request that
 * fails its pydantic model is 422 `{status, error_code: "VALIDATION_ERROR", message, details:
 * [{loc, msg, type}], request_id, timestamp}` (@abdc975:src/api/exception_handlers.py). Deployments
 * move pending → deploying → running, one step per `stepMs` (ASSUMED: the timing is ours; the
 * statuses are the ones the routes set); `setNextDeploymentFails` makes the next created deployment
 * fail at deploying, with logs.
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

interface ErrorDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** An `HTTPException(status_code, detail)`: FastAPI answers `{detail}`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** A `RequestValidationError`: 422 with MUTX's envelope (@abdc975:src/api/exception_handlers.py validation_exception_handler). */
class ValidationFailure extends Error {
  constructor(readonly details: ErrorDetail[]) {
    super('Request validation failed');
  }
}

/** @abdc975:src/api/models/models.py AgentType. */
const AGENT_TYPES = ['openai', 'anthropic', 'langchain', 'custom', 'openclaw'];

/**
 * The per-type config models' fields, all `extra="forbid"` (@abdc975:src/api/models/schemas.py
 * AgentConfigBase and its subclasses). Only `custom` is modelled in full (it is what a pushed image
 * runs as); the others check only for unknown keys.
 */
const CONFIG_BASE = ['name', 'system_prompt', 'version'];
const CONFIG_FIELDS: Record<string, string[]> = {
  openai: [...CONFIG_BASE, 'model', 'temperature', 'max_tokens'],
  anthropic: [...CONFIG_BASE, 'model', 'temperature', 'max_tokens'],
  langchain: [...CONFIG_BASE, 'chain_id', 'parameters'],
  custom: [...CONFIG_BASE, 'image', 'command', 'env'],
  openclaw: [...CONFIG_BASE, 'runtime', 'template', 'assistant_id', 'workspace', 'model', 'safety_mode', 'channels', 'skills', 'wakeups', 'metadata', 'gateway'],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface StoredDeployment extends Json {
  _stepAt: number;
  _fail?: { error: string; logs: string[] };
  _created: number;
}

export async function startMutxServer(options: { apiKey: string; stepMs?: number }): Promise<MutxServer> {
  const stepMs = options.stepMs ?? 50;
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const agents = new Map<string, Json>();
  const deployments = new Map<string, StoredDeployment>();
  let events: Json[] = [];
  let logs: Json[] = [];
  let nextFailure: { error: string; logs: string[] } | undefined;
  let lastTime = 0;
  let created = 0;

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

  /** @abdc975:src/api/routes/deployments.py _serialize_deployment (DeploymentResponse). */
  function serializeDeployment(deployment: StoredDeployment): Json {
    advance(deployment);
    return {
      id: deployment.id,
      agent_id: deployment.agent_id,
      status: deployment.status,
      replicas: deployment.replicas,
      node_id: deployment.node_id,
      started_at: deployment.started_at,
      ended_at: deployment.ended_at,
      error_message: deployment.error_message,
      // Embedded events come in insertion order, as the ORM relationship loads them.
      events: events.filter((event) => event.deployment_id === deployment.id),
    };
  }

  /** @abdc975:src/api/routes/agents.py _serialize_agent. */
  function serializeAgent(agent: Json, withDeployments = false): Json {
    const out: Json = { ...agent, config_version: agent.config?.version ?? 1 };
    if (withDeployments) {
      out.deployments = [...deployments.values()].filter((d) => d.agent_id === agent.id).map(serializeDeployment);
    }
    return out;
  }

  /** `Query(default, ge, le)` (@abdc975:src/api/routes/agents.py list_agents, deployments.py list_deployments). */
  function intQuery(query: Record<string, string>, name: string, fallback: number, min: number, max: number): number {
    if (query[name] === undefined) return fallback;
    const value = Number(query[name]);
    if (!/^-?\d+$/.test(query[name]))
      throw new ValidationFailure([{ loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', type: 'int_parsing' }]);
    if (value < min) throw new ValidationFailure([{ loc: ['query', name], msg: `Input should be greater than or equal to ${min}`, type: 'greater_than_equal' }]);
    if (value > max) throw new ValidationFailure([{ loc: ['query', name], msg: `Input should be less than or equal to ${max}`, type: 'less_than_equal' }]);
    return value;
  }

  function envelope(items: Json[], query: Record<string, string>, defaultLimit: number, maxLimit: number, extra: Json = {}): Json {
    const skip = intQuery(query, 'skip', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intQuery(query, 'limit', defaultLimit, 1, maxLimit);
    const page = items.slice(skip, skip + limit);
    return { ...extra, items: page, total: items.length, skip, limit, has_more: skip + limit < items.length };
  }

  /** Path and body ids are `uuid.UUID`: anything else fails validation with 422. */
  function uuidAt(value: unknown, loc: (string | number)[]): string {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw new ValidationFailure([{ loc, msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
    }
    return value.toLowerCase();
  }

  /** @abdc975:src/api/auth/ownership.py get_owned_deployment. */
  function deploymentOf(id: string): StoredDeployment {
    const deployment = deployments.get(uuidAt(id, ['path', 'deployment_id']));
    if (!deployment) throw new HttpError(404, 'Deployment not found');
    return deployment;
  }

  /** @abdc975:src/api/auth/ownership.py get_owned_agent. */
  function agentOf(id: string, loc: (string | number)[] = ['path', 'agent_id']): Json {
    const agent = agents.get(uuidAt(id, loc));
    if (!agent) throw new HttpError(404, 'Agent not found');
    return agent;
  }

  /**
   * @abdc975:src/api/routes/agents.py _validate_agent_config: `name` and `version` are filled in,
   * then the type's model validates; a failure is 400 "Configuration validation failed: …" (an
   * HTTPException, not the 422 envelope). Answers the normalised config (`exclude_none`).
   */
  function validateConfig(type: string, config: unknown, name: string): Json {
    let dict: unknown = config ?? {};
    if (typeof dict === 'string') {
      try {
        dict = JSON.parse(dict);
      } catch {
        throw new HttpError(400, 'Invalid JSON in agent configuration');
      }
    }
    if (!dict || typeof dict !== 'object' || Array.isArray(dict)) throw new HttpError(400, 'Agent configuration must be a JSON object');
    const values: Json = { ...(dict as Json) };
    if (!values.name) values.name = name;
    values.version = 1;
    const problems: string[] = [];
    for (const key of Object.keys(values)) {
      if (!CONFIG_FIELDS[type].includes(key)) problems.push(`${key}\n  Extra inputs are not permitted [type=extra_forbidden]`);
    }
    if (type === 'custom') {
      if (values.image === undefined) problems.push('image\n  Field required [type=missing]');
      else if (typeof values.image !== 'string') problems.push('image\n  Input should be a valid string [type=string_type]');
      values.command ??= [];
      values.env ??= {};
      if (!Array.isArray(values.command) || values.command.some((part: unknown) => typeof part !== 'string')) {
        problems.push('command\n  Input should be a valid list of strings [type=list_type]');
      }
      if (typeof values.env !== 'object' || Array.isArray(values.env) || Object.values(values.env).some((value) => typeof value !== 'string')) {
        problems.push('env\n  Input should be a valid dictionary of strings [type=dict_type]');
      }
    }
    if (typeof values.name !== 'string' || values.name.length > 255) problems.push('name\n  String should have at most 255 characters [type=string_too_long]');
    if (problems.length) {
      const model = `${type[0].toUpperCase()}${type.slice(1)}AgentConfig`;
      throw new HttpError(400, `Configuration validation failed: ${problems.length} validation error${problems.length > 1 ? 's' : ''} for ${model}\n${problems.join('\n')}`);
    }
    return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined));
  }

  function newDeployment(agentId: string, replicas: number): StoredDeployment {
    const deployment: StoredDeployment = {
      id: randomUUID(),
      agent_id: agentId,
      status: 'pending',
      replicas,
      node_id: null,
      started_at: now(),
      ended_at: null,
      error_message: null,
      _stepAt: Date.now(),
      _created: created++,
      _fail: nextFailure,
    };
    nextFailure = undefined;
    deployments.set(deployment.id, deployment);
    addEvent(deployment, 'create', 'pending');
    setAgentStatus(agentId, 'running');
    return deployment;
  }

  /** `AgentCreate` (@abdc975:src/api/models/schemas.py): extra keys at the top level are ignored (pydantic's default), the config's are not. */
  function createAgent(body: Json): Json {
    const details: ErrorDetail[] = [];
    if (body.name === undefined) details.push({ loc: ['body', 'name'], msg: 'Field required', type: 'missing' });
    else if (typeof body.name !== 'string') details.push({ loc: ['body', 'name'], msg: 'Input should be a valid string', type: 'string_type' });
    else if (body.name.length < 1) details.push({ loc: ['body', 'name'], msg: 'String should have at least 1 character', type: 'string_too_short' });
    else if (body.name.length > 255) details.push({ loc: ['body', 'name'], msg: 'String should have at most 255 characters', type: 'string_too_long' });
    if (body.description !== undefined && body.description !== null) {
      if (typeof body.description !== 'string') details.push({ loc: ['body', 'description'], msg: 'Input should be a valid string', type: 'string_type' });
      else if (body.description.length > 1000) details.push({ loc: ['body', 'description'], msg: 'String should have at most 1000 characters', type: 'string_too_long' });
    }
    // `type` defaults to openai, not custom.
    const type = body.type ?? 'openai';
    if (!AGENT_TYPES.includes(type)) {
      details.push({
        loc: ['body', 'type'],
        msg: `Input should be ${AGENT_TYPES.slice(0, -1)
          .map((t) => `'${t}'`)
          .join(', ')} or '${AGENT_TYPES.at(-1)}'`,
        type: 'enum',
      });
    }
    if (details.length) throw new ValidationFailure(details);
    const config = validateConfig(type, body.config, body.name);
    const stamp = now();
    const agent = {
      id: randomUUID(),
      name: body.name,
      description: body.description ?? null,
      type,
      status: 'creating',
      config,
      created_at: stamp,
      updated_at: stamp,
      user_id: 'a9d2f7c4-0000-4000-8000-000000000001',
    };
    agents.set(agent.id, agent);
    return agent;
  }

  function handle(method: string, parts: string[], query: Record<string, string>, body: Json): { status: number; body?: unknown } {
    if (parts[0] !== 'v1') throw new HttpError(404, 'Not Found');
    const [, collection, id, action, ...rest] = parts;
    if (rest.length) throw new HttpError(404, 'Not Found');

    if (collection === 'agents') {
      if (!id) {
        if (method === 'POST') return { status: 201, body: serializeAgent(createAgent(body)) };
        if (method === 'GET') {
          const all = [...agents.values()].reverse().map((agent) => serializeAgent(agent));
          return { status: 200, body: envelope(all, query, 50, 100) };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      const agent = agentOf(id);
      if (!action) {
        if (method === 'GET') return { status: 200, body: serializeAgent(agent, true) };
        // @abdc975:src/api/routes/agents.py delete_agent: 204; the agent's deployments, their
        // events and its logs go with it (cascade="all, delete-orphan", src/api/models/models.py Agent).
        if (method === 'DELETE') {
          agents.delete(agent.id);
          for (const [deploymentId, deployment] of deployments) if (deployment.agent_id === agent.id) deployments.delete(deploymentId);
          events = events.filter((event) => deployments.has(event.deployment_id));
          logs = logs.filter((log) => log.agent_id !== agent.id);
          return { status: 204 };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      throw new HttpError(404, 'Not Found');
    }

    if (collection === 'deployments') {
      if (!id) {
        if (method === 'POST') {
          // DeploymentCreate: agent_id uuid, replicas 1..10 (@abdc975:src/api/models/schemas.py).
          const details: ErrorDetail[] = [];
          if (body.agent_id === undefined) details.push({ loc: ['body', 'agent_id'], msg: 'Field required', type: 'missing' });
          else if (typeof body.agent_id !== 'string' || !UUID.test(body.agent_id))
            details.push({ loc: ['body', 'agent_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' });
          const replicas = body.replicas ?? 1;
          if (!Number.isInteger(replicas)) details.push({ loc: ['body', 'replicas'], msg: 'Input should be a valid integer', type: 'int_type' });
          else if (replicas < 1) details.push({ loc: ['body', 'replicas'], msg: 'Input should be greater than or equal to 1', type: 'greater_than_equal' });
          else if (replicas > 10) details.push({ loc: ['body', 'replicas'], msg: 'Input should be less than or equal to 10', type: 'less_than_equal' });
          if (details.length) throw new ValidationFailure(details);
          const agent = agentOf(body.agent_id, ['body', 'agent_id']);
          if (agent.status === 'deleting') throw new HttpError(400, 'Cannot deploy an agent that is being deleted');
          return { status: 201, body: serializeDeployment(newDeployment(agent.id, replicas)) };
        }
        if (method === 'GET') {
          // An unknown agent_id is 404 "Agent not found" (@abdc975:src/api/routes/deployments.py list_deployments).
          if (query.agent_id) agentOf(query.agent_id, ['query', 'agent_id']);
          const all = [...deployments.values()]
            .sort((a, b) => b._created - a._created)
            .map(serializeDeployment)
            .filter((d) => (!query.agent_id || d.agent_id === query.agent_id.toLowerCase()) && (!query.status || d.status === query.status));
          return { status: 200, body: envelope(all, query, 50, 100) };
        }
        throw new HttpError(405, 'Method Not Allowed');
      }
      const deployment = deploymentOf(id);
      advance(deployment);
      if (!action) {
        if (method === 'GET') return { status: 200, body: serializeDeployment(deployment) };
        // kill_deployment: 204 whatever the status was, killed, a kill event, the agent stopped.
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
        const all = events.filter((event) => event.deployment_id === deployment.id).reverse();
        return { status: 200, body: envelope(all, query, 100, 500, { deployment_id: deployment.id, deployment_status: deployment.status, event_type: null, status: null }) };
      }
      // get_deployment_logs: the agent's logs, newest first, in DeploymentLogsHistoryResponse.
      if (action === 'logs' && method === 'GET') {
        const all = logs.filter((log) => log.agent_id === deployment.agent_id && (!query.level || log.level === query.level)).reverse();
        return { status: 200, body: envelope(all, query, 100, 500, { deployment_id: deployment.id, level: query.level ?? null }) };
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
      const validationFailed = (details: ErrorDetail[]) =>
        send(422, {
          status: 'error',
          error_code: 'VALIDATION_ERROR',
          message: 'Request validation failed',
          details,
          request_id: randomUUID(),
          timestamp: new Date().toISOString(),
        });
      const routeKey = `${record.method} ${path}`;
      const fault = faults.find((candidate) => candidate.times > 0 && candidate.route.test(routeKey));
      if (fault) fault.times--;
      if (fault?.when === 'before') return send(fault.status, { detail: `injected ${fault.status}` });

      // @abdc975:src/api/auth/dependencies.py: 401 "Missing authorization header" / "Token verification failed".
      const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      const key = bearer ?? (req.headers['x-api-key'] as string | undefined);
      if (!key) return send(401, { detail: 'Missing authorization header' });
      if (key !== options.apiKey) return send(401, { detail: 'Token verification failed' });

      let body: Json = {};
      const raw = Buffer.concat(chunks);
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return validationFailed([{ loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid' }]);
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) {
          return validationFailed([{ loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' }]);
        }
      }
      record.body = body;
      try {
        const result = handle(record.method, path.split('/').filter(Boolean).map(decodeURIComponent), query, body);
        if (fault) return send(fault.status, { detail: `injected ${fault.status}` });
        send(result.status, result.body);
      } catch (err) {
        if (err instanceof ValidationFailure) return validationFailed(err.details);
        if (err instanceof HttpError) return send(err.status, { detail: err.detail });
        send(500, { status: 'error', error_code: 'INTERNAL_ERROR', message: 'An internal error occurred', request_id: randomUUID(), timestamp: new Date().toISOString() });
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
