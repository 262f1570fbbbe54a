import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../../duration.js';
import { ApiError, ConversationError } from '../../errors.js';
import type { HttpClient } from '../../http/client.js';
import { redact } from '../../secrets/redact.js';
import type { CallOptions, ConversationReply, ConversationSession, ConversationTarget, Conversations, OpenConversationOptions } from '../platform.js';
import { findDeploymentRecord, messageIds, replyOfMessageSend, turnAnswer, type DeploymentRecord } from './task-messages.js';

/**
 * Conversations with Agentex previews, through the Agentex server (not the SGP Build & Deploy API).
 * Every rule below is read from scaleapi/scale-agentex@304f014 (paths under `agentex/src/`) unless
 * it says otherwise:
 * - the agent: `GET /agents/name/{name}` → `{id, acp_type, …}` (`api/routes/agents.py`);
 * - its deployments: `GET /agents/{agent_id}/deployments`, newest first, `limit` + `page_number`
 *   pages, a plain list (`api/routes/deployments.py` `list_deployments`); ours is the record whose
 *   `sgp_deploy_id` is the SGP deployment's id (`api/schemas/deployments.py`), usable once `status`
 *   is `Ready` with an `acp_url` (the route refuses a deployment without one);
 * - the preview RPC: `POST /agents/{agent_id}/deployments/{deployment_id}/rpc`, "Send an RPC request
 *   to a specific deployment (for preview testing)". Never `POST /agents/{agent_id}/rpc`, which goes
 *   to the production deployment. Failures of the call come back as HTTP 200 with a JSON-RPC
 *   `error` (code -32603, `_handle_deployment_sync_rpc`);
 * - one task per conversation: `task/create` with a unique name (it is get-or-create by name,
 *   `api/schemas/agents_rpc.py` `CreateTaskRequest`) and our `task_metadata`; every turn names it
 *   by `task_id`, as the SDK's own multi-turn tests do (scaleapi/scale-agentex-python@37abff88
 *   `examples/tutorials/00_sync/010_multiturn/tests/test_agent.py`);
 * - sync agents: `message/send` with `stream: false` returns the agent's messages; async and
 *   agentic ones refuse it (`domain/entities/agents_rpc.py` `ACP_TYPE_TO_ALLOWED_RPC_METHODS`), so
 *   they get `event/send` and answer through `GET /messages?task_id=` (`task-messages.ts` `turnAnswer`).
 */

const DEFAULT_READY_TIMEOUT_MS = 120_000;
const DEFAULT_READY_POLL_MS = 2_000;
/** The SDK's tests poll messages every second (`sleep_interval=1.0`); we start faster and slow down to that (or to a shorter poll interval given). */
const DEFAULT_MESSAGE_POLL_MS = 1_000;
const FIRST_MESSAGE_POLL_MS = 50;
/** A turn without a signal still ends: a conversation never hangs a process. */
const TURN_LIMIT_WITHOUT_SIGNAL_MS = 10 * 60_000;
/** A sync reply may take as long as the turn's signal allows; the client's own per-request timeout must not cut it first. */
const RPC_REQUEST_TIMEOUT_MS = 60 * 60_000;
/** `list_deployments`' default page size (`limit` 50). */
const RECORDS_PAGE = 50;
const MAX_RECORD_PAGES = 40;
const MESSAGES_PAGE = 100;

type Json = Record<string, unknown>;
type AcpType = 'sync' | 'async' | 'agentic';

export class AgentexConversations implements Conversations {
  constructor(private readonly http: HttpClient) {}

  async open(target: ConversationTarget, options: OpenConversationOptions = {}): Promise<ConversationSession> {
    const agent = await this.agent(target.agentName, options.signal);
    const record = await this.readyRecord(agent, target, options);
    const rpc = new DeploymentRpc(this.http, agent.id, record);
    if (options.resume) {
      const taskId = await this.runningTask(options.resume, options.signal);
      return this.session(agent.acpType, rpc, taskId, options, true);
    }
    const params: Json = { name: `agent-preview-${target.agentName}-${randomUUID()}` };
    if (target.metadata && Object.keys(target.metadata).length) params.task_metadata = target.metadata;
    // Get-or-create by a name of our own: sending it twice cannot make two tasks.
    const task = (await rpc.call('task/create', params, options.signal, true)) as Json | null;
    if (!task || typeof task.id !== 'string') throw new ConversationError(`task/create on deployment ${record.id} returned no task id`);
    return this.session(agent.acpType, rpc, task.id, options);
  }

  private session(acpType: AcpType, rpc: DeploymentRpc, taskId: string, options: OpenConversationOptions, resumed?: boolean): ConversationSession {
    return acpType === 'sync'
      ? new SyncSession(rpc, taskId, resumed)
      : new AsyncSession(rpc, this.http, taskId, Math.min(options.pollIntervalMs ?? DEFAULT_MESSAGE_POLL_MS, DEFAULT_MESSAGE_POLL_MS), resumed);
  }

  /**
   * An earlier task, to continue: `GET /tasks/{task_id}` (`api/routes/tasks.py` get_task; 404 when
   * the server has no such task). Only `RUNNING` and `INTERRUPTED` tasks go on (`domain/entities/tasks.py`
   * NON_TERMINAL_TASK_STATUSES; an interrupted one resumes on the next message,
   * `domain/use_cases/agents_acp_use_case.py` `_get_or_create_task`); any other is as good as gone. Every turn then
   * names it by `task_id`, as the SDK's own multi-turn tests do.
   */
  private async runningTask(taskId: string, signal?: AbortSignal): Promise<string> {
    const task = await this.http.json<Json>({ call: 'get task', method: 'GET', path: `/tasks/${encodeURIComponent(taskId)}`, signal }).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) throw new ConversationError(`the Agentex server no longer has task ${taskId}`, 'gone');
      throw asConversationError(err, signal);
    });
    if (task?.status !== 'RUNNING' && task?.status !== 'INTERRUPTED') {
      throw new ConversationError(`task ${taskId} is ${String(task?.status ?? 'unknown')} and takes no more messages`, 'gone');
    }
    return taskId;
  }

  private async agent(name: string, signal?: AbortSignal): Promise<{ id: string; name: string; acpType: AcpType }> {
    const agent = await this.http.json<Json>({ call: 'get agent by name', method: 'GET', path: `/agents/name/${encodeURIComponent(name)}`, signal }).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404)
        throw new ConversationError(`the Agentex server at ${this.http.baseUrl} has no agent named "${name}" (${err.detail})`, 404);
      throw asConversationError(err, signal);
    });
    if (typeof agent?.id !== 'string') throw new ConversationError(`GET /agents/name/${name} answered without an agent id`);
    const acpType = agent.acp_type === 'sync' || agent.acp_type === 'agentic' ? agent.acp_type : 'async';
    return { id: agent.id, name, acpType };
  }

  /** Waits for our deployment's record to be Ready with an `acp_url`; Failed, or not Ready by the deadline, is a ConversationError naming both ids. */
  private async readyRecord(agent: { id: string; name: string }, target: ConversationTarget, options: OpenConversationOptions): Promise<DeploymentRecord> {
    const sgpId = target.deployment.id;
    const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const intervalMs = options.pollIntervalMs ?? DEFAULT_READY_POLL_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.findRecord(agent.id, sgpId, options.signal);
      if (record?.status === 'Ready' && record.acpUrl) return record;
      if (record?.status === 'Failed') {
        throw new ConversationError(
          `the Agentex server's deployment record ${record.id} for SGP deployment ${sgpId} (agent ${agent.name}) is Failed: the preview cannot be talked to`,
          'deployment-failed',
        );
      }
      if (Date.now() + intervalMs > deadline) {
        const state = record
          ? `its record ${record.id} is ${record.status}${record.acpUrl ? '' : ' with no acp_url'}`
          : `no deployment record of agent ${agent.name} (${agent.id}) has sgp_deploy_id ${sgpId}`;
        throw new ConversationError(`SGP deployment ${sgpId} was not Ready on the Agentex server within ${formatDuration(timeoutMs)}: ${state}`, 'not-ready');
      }
      await pause(intervalMs, options.signal);
    }
  }

  private async findRecord(agentId: string, sgpId: string, signal?: AbortSignal): Promise<DeploymentRecord | undefined> {
    for (let page = 1; page <= MAX_RECORD_PAGES; page++) {
      const records = await this.http
        .json<unknown>({
          call: 'list agent deployments',
          method: 'GET',
          path: `/agents/${encodeURIComponent(agentId)}/deployments`,
          query: { limit: RECORDS_PAGE, page_number: page, order_direction: 'desc' },
          signal,
        })
        .catch((err: unknown) => {
          throw asConversationError(err, signal);
        });
      const found = findDeploymentRecord(records, sgpId);
      if (found || !Array.isArray(records) || records.length < RECORDS_PAGE) return found;
    }
    return undefined;
  }
}

/** JSON-RPC calls to one preview deployment, through the preview route only. */
class DeploymentRpc {
  constructor(
    private readonly http: HttpClient,
    private readonly agentId: string,
    readonly record: DeploymentRecord,
  ) {}

  async call(method: string, params: Json, signal: AbortSignal | undefined, idempotent = false): Promise<unknown> {
    let body: Json | undefined;
    try {
      body = await this.http.json<Json>({
        call: `JSON-RPC ${method}`,
        method: 'POST',
        path: `/agents/${encodeURIComponent(this.agentId)}/deployments/${encodeURIComponent(this.record.id)}/rpc`,
        json: { jsonrpc: '2.0', id: randomUUID(), method, params },
        idempotent,
        signal,
        timeoutMs: RPC_REQUEST_TIMEOUT_MS,
      });
    } catch (err) {
      throw asConversationError(err, signal);
    }
    const error = body?.error as Json | null | undefined;
    if (error) {
      const code = typeof error.code === 'number' || typeof error.code === 'string' ? error.code : undefined;
      const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
      throw new ConversationError(redact(`${method} on deployment ${this.record.id} failed with JSON-RPC error${code === undefined ? '' : ` ${code}`}: ${message}`), code);
    }
    if (!body || !('result' in body)) throw new ConversationError(`${method} on deployment ${this.record.id} answered without a JSON-RPC result`);
    return body.result;
  }

  describe(taskId: string, messageIds: (string | undefined)[]): Json {
    return { task_id: taskId, message_ids: messageIds.filter(Boolean), agentex_deployment_id: this.record.id, sgp_deploy_id: this.record.sgpDeployId };
  }
}

/** A sync agent: each turn is one `message/send`, answered in the response. */
class SyncSession implements ConversationSession {
  constructor(
    private readonly rpc: DeploymentRpc,
    readonly id: string,
    readonly resumed?: boolean,
  ) {}

  async send(message: string, options: CallOptions = {}): Promise<ConversationReply> {
    const signal = options.signal ?? AbortSignal.timeout(TURN_LIMIT_WITHOUT_SIGNAL_MS);
    const result = await this.rpc.call('message/send', { task_id: this.id, content: userText(message), stream: false }, signal).catch((err: unknown) => {
      if (!options.signal && signal.aborted)
        throw new ConversationError(`the agent did not answer on task ${this.id} within ${formatDuration(TURN_LIMIT_WITHOUT_SIGNAL_MS)}`, 'no-reply');
      throw err;
    });
    const reply = replyOfMessageSend(result);
    if (!reply) throw new ConversationError(`the agent answered message/send on task ${this.id} with no text`, 'no-reply');
    return {
      text: reply.text,
      raw: this.rpc.describe(
        this.id,
        reply.messages.map((item) => item.id),
      ),
    };
  }
}

/** An async or agentic agent: each turn is an `event/send`, answered later in the task's messages. */
class AsyncSession implements ConversationSession {
  constructor(
    private readonly rpc: DeploymentRpc,
    private readonly http: HttpClient,
    readonly id: string,
    private readonly pollCeilingMs: number,
    readonly resumed?: boolean,
  ) {}

  async send(message: string, options: CallOptions = {}): Promise<ConversationReply> {
    const limit = options.signal ? undefined : Date.now() + TURN_LIMIT_WITHOUT_SIGNAL_MS;
    const signal = options.signal;
    const seenIds = messageIds(await this.messages(signal));
    const event = (await this.rpc.call('event/send', { task_id: this.id, content: userText(message) }, signal)) as Json | null;
    const start = { seenIds, eventCreatedAt: typeof event?.created_at === 'string' ? event.created_at : undefined };
    for (let wait = FIRST_MESSAGE_POLL_MS; ; wait = Math.min(wait * 2, this.pollCeilingMs)) {
      const turn = turnAnswer(await this.messages(signal), start);
      if (turn.answered)
        return {
          text: turn.text,
          raw: this.rpc.describe(
            this.id,
            turn.messages.map((item) => item.id),
          ),
        };
      if (limit !== undefined && Date.now() + wait > limit) {
        throw new ConversationError(`the agent did not answer on task ${this.id} within ${formatDuration(TURN_LIMIT_WITHOUT_SIGNAL_MS)}`, 'no-reply');
      }
      await pause(wait, signal);
    }
  }

  /** Cancels the task, so an agent that keeps a workflow per task can end it (`task/cancel`, allowed for async and agentic agents). */
  async close(options: CallOptions = {}): Promise<void> {
    await this.rpc.call('task/cancel', { task_id: this.id }, options.signal);
  }

  private async messages(signal?: AbortSignal): Promise<unknown> {
    return this.http
      .json<unknown>({ call: 'list task messages', method: 'GET', path: '/messages', query: { task_id: this.id, limit: MESSAGES_PAGE, order_direction: 'desc' }, signal })
      .catch((err: unknown) => {
        throw asConversationError(err, signal);
      });
  }
}

/** The user's message as TextContent (`api/schemas/task_messages.py`). */
function userText(message: string): Json {
  return { type: 'text', author: 'user', content: message };
}

/** An API failure as a ConversationError with the server's words; an abort stays what the caller's signal said. */
function asConversationError(err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof ApiError) return new ConversationError(err.message, err.status);
  return err;
}

async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
}
