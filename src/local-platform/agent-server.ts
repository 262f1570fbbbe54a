import type { IncomingMessage } from 'node:http';
import { AgentCode } from './agent.js';
import { AgentRecords } from './agent-records.js';
import { AgentTasks, RpcFailure } from './agent-tasks.js';
import type { Clock } from './clock.js';
import { AGENT_SERVER_ROUTE_IDS, type RouteId } from './faults.js';
import type { Reply } from './http.js';
import { agentexError, unexpectedFailure, validationFailure, type ValidationIssue } from './python-errors.js';
import { fromApiRequestFailure, parseRpcRequest } from './rpc-request.js';
import type { PlatformState } from './state.js';

/**
 * The Agentex server routes the local platform serves beside the v5 API, on the same port, so a
 * preview can be talked to (scaleapi/scale-agentex@304f014, routes mounted without a prefix in
 * `agentex/src/api/app.py`):
 * - `GET /agents/name/{agent_name}` (`api/routes/agents.py`),
 * - `GET /agents/{agent_id}/deployments`, `GET /agents/{agent_id}/deployments/{deployment_id}` and
 *   `POST /agents/{agent_id}/deployments/{deployment_id}/rpc` (`api/routes/deployments.py`),
 * - `GET /tasks/{task_id}` (`api/routes/tasks.py`) and `GET /messages?task_id=` (`api/routes/messages.py`).
 * Never the production `POST /agents/{agent_id}/rpc`: nothing of ours may call it for a preview.
 * Errors come in the server's shapes (`python-errors.ts`); checks run in the server's order: the
 * agent (a dependency) before the body, the deployment before the request is converted.
 */
export const AGENT_SERVER_ROUTES: ReadonlySet<RouteId> = new Set<RouteId>(AGENT_SERVER_ROUTE_IDS);

const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** `adapters/crud_store/adapter_postgres.py` `DEFAULT_LIST_LIMIT`, also the routes' default `limit`. */
const DEFAULT_LIMIT = 50;

export class AgentServer {
  private readonly records: AgentRecords;
  private readonly tasks: AgentTasks;

  constructor(
    private readonly state: PlatformState,
    clock: Clock,
  ) {
    this.records = new AgentRecords(state, clock);
    this.tasks = new AgentTasks(clock);
  }

  async answer(route: RouteId, req: IncomingMessage, url: URL, params: string[]): Promise<Reply> {
    try {
      if (route === 'agents.deployments.rpc') return await this.rpc(params[0], params[1], req);
      req.resume();
      switch (route) {
        case 'agents.byName':
          return this.records.agentByName(params[0])
            ? { status: 200, body: this.records.agentByName(params[0]) }
            : agentexError(404, `Item with name '${params[0]}' does not exist.`);
        case 'agents.deployments.list':
          return this.listDeployments(params[0], url.searchParams);
        case 'agents.deployments.get':
          return this.getDeployment(params[0], params[1]);
        case 'tasks.get': {
          const task = this.tasks.taskOf(params[0]);
          return task ? { status: 200, body: task } : agentexError(404, `Item with id '${params[0]}' does not exist.`);
        }
        default:
          return this.listMessages(url.searchParams);
      }
    } catch (err) {
      return unexpectedFailure((err as Error).name || 'Exception', (err as Error).message);
    }
  }

  close(): void {
    this.tasks.close();
  }

  /** `list_deployments`: newest first by default, `limit` (≥ 1) and `page_number` (≥ 1), records marked for cleanup left out. */
  private listDeployments(agentId: string, query: URLSearchParams): Reply {
    if (!this.records.agentById(agentId)) return missingAgent(agentId);
    const issues: ValidationIssue[] = [];
    const limit = queryInteger(query, 'limit', DEFAULT_LIMIT, 1, issues);
    const page = queryInteger(query, 'page_number', 1, 1, issues);
    if (issues.length) return validationFailure(issues);
    const ascending = (query.get('order_direction') ?? 'desc').toLowerCase() !== 'desc';
    const live = this.records.recordsOf(agentId).filter((record) => !record.expires_at);
    const ordered = ascending ? live : live.reverse();
    return { status: 200, body: ordered.slice((page - 1) * limit, page * limit) };
  }

  /** `get_deployment`: any record of the agent, marked for cleanup or not. */
  private getDeployment(agentId: string, deploymentId: string): Reply {
    if (!this.records.agentById(agentId)) return missingAgent(agentId);
    const found = this.records.find(deploymentId);
    if (!found) return agentexError(404, `Item with id '${deploymentId}' does not exist.`);
    if (found.record.agent_id !== agentId) return agentexError(404, `Deployment ${deploymentId} not found for agent ${agentId}`);
    return { status: 200, body: found.record };
  }

  /** `handle_deployment_rpc` then `_handle_deployment_sync_rpc`: the response's `id` is always null, as `from_api_request` drops it. */
  private async rpc(agentId: string, deploymentId: string, req: IncomingMessage): Promise<Reply> {
    const agent = this.records.agentById(agentId);
    if (!agent) {
      req.resume();
      return missingAgent(agentId);
    }
    const body = await readBody(req);
    if ('issues' in body) return validationFailure(body.issues);
    const parsed = parseRpcRequest(body.value);
    if (parsed.kind === 'invalid') return validationFailure(parsed.issues);
    if (parsed.kind === 'crash') return unexpectedFailure(parsed.exceptionClass, parsed.message);
    const deployment = this.getDeployment(agentId, deploymentId);
    if (deployment.status !== 200) return deployment;
    const found = this.records.find(deploymentId)!;
    if (!found.record.acp_url) return agentexError(400, `Deployment ${deploymentId} does not have an ACP URL configured`);
    const crash = fromApiRequestFailure(parsed.request);
    if (crash) return unexpectedFailure(crash.exceptionClass, crash.message);
    const target = {
      agentId,
      agentName: agent.name,
      acpType: agent.acp_type,
      code: new AgentCode(this.state.agentDirectivesOf(found.deployment.build_id)),
      gone: Boolean(found.record.expires_at),
    };
    try {
      return { status: 200, body: { jsonrpc: '2.0', result: await this.tasks.run(target, parsed.request), error: null, id: null } };
    } catch (err) {
      if (!(err instanceof RpcFailure)) throw err;
      return { status: 200, body: { jsonrpc: '2.0', result: null, error: { code: -32603, message: err.message, data: null }, id: null } };
    }
  }

  /** `list_messages`: `task_id` required; newest first by default; `limit` 0 means the default. */
  private listMessages(query: URLSearchParams): Reply {
    const issues: ValidationIssue[] = [];
    const taskId = query.get('task_id');
    if (taskId === null) issues.push({ type: 'missing', loc: ['query', 'task_id'], msg: 'Field required', input: null });
    const limit = queryInteger(query, 'limit', DEFAULT_LIMIT, undefined, issues) || DEFAULT_LIMIT;
    const page = queryInteger(query, 'page_number', 1, undefined, issues);
    if (issues.length) return validationFailure(issues);
    const messages = this.tasks.messagesOf(taskId!);
    if (!messages) return agentexError(404, `Item with id '${taskId}' does not exist.`);
    if (page < 1) return agentexError(400, 'Page number must be greater than 0');
    const ascending = (query.get('order_direction') ?? 'desc').toLowerCase() !== 'desc';
    const ordered = ascending ? [...messages] : [...messages].reverse();
    // Messages live in MongoDB, where a negative limit returns that many documents too.
    const size = Math.abs(limit);
    return { status: 200, body: ordered.slice((page - 1) * size, page * size) };
  }
}

/** What `_check_agent_or_collapse_to_404` answers for an agent id it cannot read. */
function missingAgent(agentId: string): Reply {
  return agentexError(404, `Item with id '${agentId}' does not exist.`);
}

/** A FastAPI `int` query parameter, with its `ge` bound when the route declares one. */
function queryInteger(query: URLSearchParams, name: string, fallback: number, atLeast: number | undefined, issues: ValidationIssue[]): number {
  const text = query.get(name);
  if (text === null) return fallback;
  if (!/^\s*[-+]?\d+\s*$/.test(text)) {
    issues.push({ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: text });
    return fallback;
  }
  const value = Number.parseInt(text, 10);
  if (atLeast !== undefined && value < atLeast) {
    issues.push({ type: 'greater_than_equal', loc: ['query', name], msg: `Input should be greater than or equal to ${atLeast}`, input: text, ctx: { ge: atLeast } });
  }
  return value;
}

/** The JSON body as FastAPI reads it for a model parameter: empty is missing, bad JSON is `json_invalid`. */
async function readBody(req: IncomingMessage): Promise<{ value: unknown } | { issues: ValidationIssue[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { issues: [{ type: 'value_error', loc: ['body'], msg: 'Value error, request body too large', input: null }] };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return { issues: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] };
  const type = req.headers['content-type'];
  if (type && !/[/+]json\b/i.test(type.split(';')[0])) return { value: text };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { issues: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: (err as Error).message } }] };
  }
}
