import { randomUUID } from 'node:crypto';
import { AGENT_DIRECTIVES, answerTurn, withoutDirectives, type AgentCode, type TurnOutcome } from './agent.js';
import type { AcpType } from './agent-records.js';
import type { Clock } from './clock.js';
import { boolValue, enumName, type RpcMethod, type RpcRequest } from './rpc-request.js';

/**
 * What the Agentex server does with a valid RPC for a Ready deployment, with the local agent
 * (`agent.ts`) in place of the pod: tasks, their messages and events. Written from
 * scaleapi/scale-agentex@304f014 `agentex/src/domain/use_cases/agents_acp_use_case.py`
 * (`handle_rpc_request`, `_get_or_create_task`, `_handle_message_send_sync`, `_handle_event_send`,
 * `_handle_task_cancel`, `_handle_task_interrupt`) and `domain/services/task_service.py`
 * (`create_task`: status RUNNING, "Task created, forwarding to ACP server"). Every failure here is a
 * `RpcFailure`: the route answers it as HTTP 200 with a JSON-RPC error, code -32603.
 */

/** A failure the route answers as a JSON-RPC `error` (`api/routes/deployments.py` `_handle_deployment_sync_rpc`). */
export class RpcFailure extends Error {}

/** `domain/entities/agents_rpc.py` `ACP_TYPE_TO_ALLOWED_RPC_METHODS`. */
const ALLOWED_METHODS: Record<AcpType, RpcMethod[]> = {
  sync: ['message/send', 'task/create', 'task/interrupt'],
  agentic: ['task/create', 'task/cancel', 'task/interrupt', 'event/send'],
  async: ['task/create', 'task/cancel', 'task/interrupt', 'event/send'],
};

/**
 * ASSUMED: what the server reports when the pod behind a deleted deployment's `acp_url` is gone
 * (httpx's ConnectError text; the route turns any exception into the JSON-RPC error's message).
 */
export const UNREACHABLE_AGENT = 'All connection attempts failed';

/** `api/schemas/tasks.py` `Task`. */
export interface TaskRecord {
  id: string;
  name: string | null;
  status: 'RUNNING' | 'CANCELED' | 'INTERRUPTED';
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  cleaned_at: null;
  params: Record<string, unknown> | null;
  task_metadata: Record<string, unknown> | null;
}

/** `api/schemas/task_messages.py` `TaskMessage`. */
export interface TaskMessageRecord {
  id: string;
  task_id: string;
  content: Record<string, unknown>;
  streaming_status: 'IN_PROGRESS' | 'DONE' | null;
  created_at: string;
  updated_at: string;
}

/** The agent an RPC goes to, as the route found it. */
export interface RpcTarget {
  agentId: string;
  agentName: string;
  acpType: AcpType;
  code: AgentCode;
  /** The deployment was deleted: its pod no longer answers. */
  gone: boolean;
}

interface TaskState {
  task: TaskRecord;
  agentId: string;
  /** The user messages of the task so far, without directives. */
  turns: string[];
}

type Json = Record<string, unknown>;

/** Fields of each content type, in the order the server dumps them, with their defaults. */
const CONTENT_FIELDS: Record<string, [string, unknown][]> = {
  text: [
    ['format', 'plain'],
    ['content', undefined],
    ['attachments', null],
  ],
  reasoning: [
    ['summary', undefined],
    ['content', null],
  ],
  data: [['data', undefined]],
  tool_request: [
    ['tool_call_id', undefined],
    ['name', undefined],
    ['arguments', undefined],
  ],
  tool_response: [
    ['tool_call_id', undefined],
    ['name', undefined],
    ['content', undefined],
    ['is_error', null],
  ],
};

export class AgentTasks {
  private readonly tasks = new Map<string, TaskState>();
  private readonly messages = new Map<string, TaskMessageRecord[]>();
  private eventSequence = 0;
  /** Pending timers and what to run if the platform closes first. */
  private readonly pending = new Map<unknown, () => void>();
  private closed = false;

  constructor(private readonly clock: Clock) {}

  /** Runs one RPC; its result is the JSON-RPC `result`. */
  async run(target: RpcTarget, request: RpcRequest): Promise<unknown> {
    if (!ALLOWED_METHODS[target.acpType].includes(request.method)) {
      throw new RpcFailure(`Unsupported method: ${enumName(request.method)} for ACP type: ACPType.${target.acpType.toUpperCase()}`);
    }
    if (target.gone) throw new RpcFailure(UNREACHABLE_AGENT);
    const params = request.params;
    switch (request.method) {
      case 'task/create':
        return this.createTask(target, params);
      case 'message/send':
        return this.sendMessage(target, params);
      case 'event/send':
        return this.sendEvent(target, params);
      case 'task/cancel':
        return this.moveTask(params, 'CANCELED').task;
      case 'task/interrupt':
        return this.moveTask(params, 'INTERRUPTED').task;
    }
  }

  /** A task as `GET /tasks/{task_id}` shows it (`api/schemas/tasks.py` `TaskResponse`: no agents unless asked). */
  taskOf(taskId: string): (TaskRecord & { agents: null }) | undefined {
    const state = this.tasks.get(taskId);
    return state ? { ...state.task, agents: null } : undefined;
  }

  /** A task's messages in creation order, or undefined for an unknown task. */
  messagesOf(taskId: string): TaskMessageRecord[] | undefined {
    return this.tasks.has(taskId) ? (this.messages.get(taskId) ?? []) : undefined;
  }

  close(): void {
    this.closed = true;
    for (const [timer, release] of this.pending) {
      this.clock.clearTimeout(timer);
      release();
    }
    this.pending.clear();
  }

  private createTask(target: RpcTarget, params: Json): TaskRecord {
    const { state, created } = this.getOrCreate(target, { taskName: params.name as string | undefined, params: params.params as Json, metadata: params.task_metadata as Json });
    // An async agent hears of the task (`forward_task_to_acp`); the local one may greet it.
    const welcome = target.code.argument(AGENT_DIRECTIVES.welcome);
    if (created && target.acpType !== 'sync' && welcome) this.append(state.task.id, agentText(welcome), 'DONE');
    return state.task;
  }

  /** `_handle_message_send_sync`: the user's message is stored, the agent's reply is stored and returned. */
  private async sendMessage(target: RpcTarget, params: Json): Promise<TaskMessageRecord[]> {
    if (boolValue(params.stream)) throw new RpcFailure('the local platform does not stream message/send; send "stream": false');
    const { state } = this.getOrCreate(target, { taskId: params.task_id as string | undefined, taskName: params.task_name as string | undefined });
    const content = params.content as Json;
    this.append(state.task.id, normalised(content), 'DONE');
    const outcome = this.nextTurn(target, state, textOf(content));
    await this.wait(outcome.delayMs);
    if (outcome.kind === 'fail') throw new RpcFailure(outcome.message);
    if (outcome.kind === 'silent') return [];
    return [this.append(state.task.id, agentText(outcome.text), 'DONE')];
  }

  /**
   * `_handle_event_send`: the event is stored and forwarded; the agent answers later through
   * messages. The local agent echoes the user's content first, as the SDK's tutorial agents do
   * (scaleapi/scale-agentex-python@37abff88 `examples/tutorials/10_async/00_base/000_hello_acp/project/acp.py`),
   * then writes its reply: at once, or with `slow` as an IN_PROGRESS message completed after the delay.
   */
  private sendEvent(target: RpcTarget, params: Json): Json {
    if (!params.task_id && !params.task_name) throw new RpcFailure('Either task_id or task_name must be provided');
    const state = this.requireTask(params.task_id as string | undefined, params.task_name as string | undefined);
    const content = params.content ? normalised(params.content as Json) : null;
    const event = { id: randomUUID(), sequence_id: ++this.eventSequence, task_id: state.task.id, agent_id: target.agentId, created_at: this.now(), content };
    const outcome = this.nextTurn(target, state, textOf(content));
    if (outcome.kind === 'fail') throw new RpcFailure(outcome.message);
    if (content) this.append(state.task.id, content, 'DONE');
    if (outcome.kind === 'reply') this.writeReply(state.task.id, outcome.text, outcome.delayMs);
    return event;
  }

  private writeReply(taskId: string, text: string, delayMs: number): void {
    if (delayMs <= 0) {
      this.append(taskId, agentText(text), 'DONE');
      return;
    }
    const message = this.append(taskId, agentText(text.slice(0, Math.ceil(text.length / 2))), 'IN_PROGRESS');
    this.later(delayMs, () => {
      message.content = agentText(text);
      message.streaming_status = 'DONE';
      message.updated_at = this.now();
    });
  }

  private nextTurn(target: RpcTarget, state: TaskState, message: string): TurnOutcome {
    const outcome = answerTurn(target.code, { agentName: target.agentName, message, turn: state.turns.length + 1, previous: state.turns.at(-1) ?? '' });
    state.turns.push(withoutDirectives(message));
    return outcome;
  }

  /** `_get_or_create_task`: by id, else get-or-create by name, else a new task; an INTERRUPTED task resumes. */
  private getOrCreate(target: RpcTarget, lookup: { taskId?: string; taskName?: string; params?: Json; metadata?: Json }): { state: TaskState; created: boolean } {
    let state: TaskState | undefined;
    if (lookup.taskId) state = this.requireTask(lookup.taskId, undefined);
    else if (lookup.taskName) state = [...this.tasks.values()].find((candidate) => candidate.task.name === lookup.taskName);
    if (state) {
      if (state.task.status === 'INTERRUPTED') this.setStatus(state, 'RUNNING');
      if (lookup.params) state.task.params = lookup.params;
      return { state, created: false };
    }
    const now = this.now();
    const task: TaskRecord = {
      id: randomUUID(),
      name: lookup.taskName ?? null,
      status: 'RUNNING',
      status_reason: 'Task created, forwarding to ACP server',
      created_at: now,
      updated_at: now,
      cleaned_at: null,
      params: lookup.params ?? null,
      task_metadata: lookup.metadata ?? null,
    };
    state = { task, agentId: target.agentId, turns: [] };
    this.tasks.set(task.id, state);
    return { state, created: true };
  }

  /** `task_service.get_task` → the CRUD repository's `_get`, with its messages for a missing id or name. */
  private requireTask(taskId: string | undefined, taskName: string | undefined): TaskState {
    if (taskId) {
      const state = this.tasks.get(taskId);
      if (!state) throw new RpcFailure(`Item with id '${taskId}' does not exist.`);
      return state;
    }
    if (!taskName) throw new RpcFailure('Either id or name must be provided.');
    const state = [...this.tasks.values()].find((candidate) => candidate.task.name === taskName);
    if (!state) throw new RpcFailure(`Item with name '${taskName}' does not exist.`);
    return state;
  }

  private moveTask(params: Json, status: TaskRecord['status']): TaskState {
    const state = this.requireTask(params.task_id as string | undefined, params.task_name as string | undefined);
    this.setStatus(state, status);
    return state;
  }

  private setStatus(state: TaskState, status: TaskRecord['status']): void {
    state.task.status = status;
    state.task.updated_at = this.now();
  }

  private append(taskId: string, content: Json, streamingStatus: TaskMessageRecord['streaming_status']): TaskMessageRecord {
    const now = this.now();
    const message: TaskMessageRecord = { id: randomUUID(), task_id: taskId, content, streaming_status: streamingStatus, created_at: now, updated_at: now };
    const list = this.messages.get(taskId) ?? [];
    list.push(message);
    this.messages.set(taskId, list);
    return message;
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.later(ms, resolve, resolve));
  }

  private later(ms: number, run: () => void, onClose: () => void = () => {}): void {
    const timer = this.clock.setTimeout(() => {
      this.pending.delete(timer);
      if (!this.closed) run();
    }, ms);
    this.pending.set(timer, onClose);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function agentText(text: string): Json {
  return { type: 'text', author: 'agent', style: 'static', format: 'plain', content: text, attachments: null };
}

function textOf(content: Json | null | undefined): string {
  return content?.type === 'text' && typeof content.content === 'string' ? content.content : '';
}

/** Content as the server stores it: the type's own fields with their defaults; unknown fields are dropped (pydantic ignores them). */
function normalised(content: Json): Json {
  const out: Json = { type: content.type, author: content.author, style: content.style ?? 'static' };
  for (const [field, fallback] of CONTENT_FIELDS[content.type as string] ?? []) out[field] = content[field] ?? fallback;
  return out;
}
