/**
 * Reading the Agentex server's answers: deployment records, and the agent's task messages
 * (`TaskMessage`: `{id, task_id, content: {type, author, content, …}, streaming_status, created_at}`,
 * scaleapi/scale-agentex@304f014 `agentex/src/api/schemas/task_messages.py`). Pure functions over
 * parsed JSON, so every rule is unit-tested without a server.
 */

type Json = Record<string, unknown>;

/** One agent message of a turn, for the report. */
export interface AgentMessage {
  id?: string;
  text: string;
  createdAt?: string;
}

/** What a sync agent said: `message/send` returns the task's new messages, and its reply is their agent-authored text (scaleapi/scale-agentex-python@37abff88 `examples/tutorials/00_sync/010_multiturn/tests/test_agent.py` reads `content.content` of each message in `result`). */
export function replyOfMessageSend(result: unknown): { text: string; messages: AgentMessage[] } | undefined {
  const messages = (Array.isArray(result) ? result : []).filter(isAgentText).map(toAgentMessage);
  const text = joinTexts(messages);
  return text ? { text, messages } : undefined;
}

/** Where an async turn starts: the messages already there, and the server's own time of our event. */
export interface TurnStart {
  seenIds: ReadonlySet<string>;
  /** The `created_at` of the Event `event/send` returned (the server's clock, as messages' `created_at` are). */
  eventCreatedAt?: string;
}

/**
 * Whether an async agent has answered a turn, as scale-agentex-python's tutorial tests decide it:
 * they poll `messages.list(task_id)`, keep messages created after the event was sent, and stop at
 * an agent-authored text message whose `streaming_status` is `DONE` (or absent) with content
 * (scaleapi/scale-agentex-python@37abff88 `examples/tutorials/test_utils/async_utils.py`
 * `send_event_and_poll_yielding`; `examples/tutorials/10_async/10_temporal/130_langgraph/tests/test_agent.py`
 * and `060_open_ai_agents_sdk_hello_world/tests/test_agent.py`). Two differences, both stricter:
 * "after the event" compares the server's timestamps with the event's own `created_at` instead of
 * the client's clock minus 2 s, and messages seen before the event are never counted; and the turn
 * is answered only once no agent message of it is still `IN_PROGRESS`. The reply is every complete
 * agent text of the turn, in order, joined by a blank line.
 */
export function turnAnswer(messages: unknown, start: TurnStart): { answered: boolean; text: string; messages: AgentMessage[] } {
  const after = timeOf(start.eventCreatedAt);
  const list = (Array.isArray(messages) ? messages : []) as Json[];
  const ofTurn = list
    .map((message, index) => ({ message, index, at: timeOf(message?.created_at) }))
    .filter(({ message, at }) => isObject(message) && typeof message.id === 'string' && !start.seenIds.has(message.id) && (after === undefined || at === undefined || at >= after))
    // Listings come newest first: of two messages stamped alike, the later in the list is the older.
    .sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || b.index - a.index)
    .map(({ message }) => message)
    .filter((message) => (message.content as Json | undefined)?.author === 'agent');
  const streaming = ofTurn.some((message) => message.streaming_status === 'IN_PROGRESS');
  const complete = ofTurn.filter((message) => isAgentText(message) && message.streaming_status !== 'IN_PROGRESS').map(toAgentMessage);
  const text = joinTexts(complete);
  return { answered: !streaming && text.length > 0, text, messages: complete };
}

/** The ids of the messages in a listing. */
export function messageIds(messages: unknown): Set<string> {
  return new Set((Array.isArray(messages) ? messages : []).map((message) => (isObject(message) ? message.id : undefined)).filter((id): id is string => typeof id === 'string'));
}

/** An Agentex-server deployment record (`api/schemas/deployments.py` `Deployment`). */
export interface DeploymentRecord {
  id: string;
  status: string;
  acpUrl?: string;
  sgpDeployId?: string;
  helmReleaseName?: string;
}

/** The record of our SGP deployment: the one whose `sgp_deploy_id` ("Correlates to SGP's agentex_deploys.id") is its id. Nothing else is matched on. */
export function findDeploymentRecord(records: unknown, sgpDeployId: string): DeploymentRecord | undefined {
  const found = (Array.isArray(records) ? records : []).find((record) => isObject(record) && record.sgp_deploy_id === sgpDeployId) as Json | undefined;
  if (!found || typeof found.id !== 'string') return undefined;
  return {
    id: found.id,
    status: typeof found.status === 'string' ? found.status : 'unknown',
    acpUrl: typeof found.acp_url === 'string' && found.acp_url ? found.acp_url : undefined,
    sgpDeployId,
    helmReleaseName: typeof found.helm_release_name === 'string' ? found.helm_release_name : undefined,
  };
}

/** A timestamp in ms; naive ones are UTC, as the SDK's tests read them. */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}

function isAgentText(message: unknown): message is Json {
  if (!isObject(message) || !isObject(message.content)) return false;
  const content = message.content;
  return content.type === 'text' && content.author === 'agent' && typeof content.content === 'string';
}

function toAgentMessage(message: Json): AgentMessage {
  return {
    id: typeof message.id === 'string' ? message.id : undefined,
    text: (message.content as Json).content as string,
    createdAt: typeof message.created_at === 'string' ? message.created_at : undefined,
  };
}

function joinTexts(messages: AgentMessage[]): string {
  return messages
    .map((message) => message.text)
    .filter((text) => text.trim() !== '')
    .join('\n\n');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
