import { ConversationError } from '../../errors.js';
import { describeErrorBody, type HttpClient, type HttpResponse, type RequestOptions } from '../../http/client.js';
import { readServerSentEvents } from '../../http/sse.js';
import { redact } from '../../secrets/redact.js';
import type { CallOptions, ConversationReply, ConversationSession, ConversationTarget, Conversations, OpenConversationOptions } from '../platform.js';
import { type Json, stringField } from '../records.js';

/*
 * Talking to an Astropods preview: the web API of the deployment's messaging sidecar, reached
 * through astro-server's deployment-scoped proxy. Sources:
 * - astropods/messaging@c2db7534a5a032dd2cdf9041ff90d0268e82e991 (cited `@c2db753:file`), the
 *   sidecar: internal/adapter/web/adapter.go (the routes), handlers.go (create, send, stream,
 *   cancel), chat_handlers.go (the persisted conversation), events.go (the SSE events);
 * - astropods/astro-cli@7e52620209454f73f1645d1a37dbbc776df66a67 internal/chatui/server.go: astro-server
 *   presents that API in production as `/api/v1/deployments/:id/{messaging,chat}/*` and rewrites it
 *   to the sidecar's `/api/*` and `/api/chat/*` ("exactly the rewrite astro-server's messaging proxy
 *   performs in production"); our base URL already ends in `/api/v1`.
 *
 * A turn, as astro-cli's paired chat client holds one (@c2db753:docs/changelog/2026-07-20-resumable-chat-sse-stream.md):
 *   POST …/messaging/conversations/{cid}/messages {content} → 200 {message_id, timestamp}; the user
 *        row is persisted before the agent is asked, so once this answers it is the newest user row;
 *   GET  …/messaging/conversations/{cid}/stream (SSE) until `finish` or `error`. A subscribe after
 *        the send is safe: a turn that already ended is released with a `finish` once the stream has
 *        settled (handlers.go settleFreshSubscribe), so no answer is waited for twice or missed;
 *   GET  …/chat/conversations/{cid} → {messages: [{id, role, content}], assistant_streaming}: the
 *        reply is what the sidecar persisted, the assistant rows after our message, rather than deltas
 *        pieced together from a stream we may have joined late.
 * What a late subscribe cannot see, because a fresh stream replays nothing: an agent error that came
 * before it shows as an empty reply, and a form asked before it is only noticed at the turn's timeout.
 * A turn cut by its signal is cancelled (`POST …/cancel`, 204) so that the agent's late output is
 * dropped and the next message is not refused with 409 `turn_in_progress`.
 *
 * ASSUMED: astro-server accepts the API's `Authorization: Bearer` token on these proxy routes, as on
 * the rest of `/api/v1`. astro-cli never calls them (the chat UI does, signed in through the
 * browser), so a 401 or 403 here names this assumption. Also ASSUMED: the proxy answers its own
 * errors (unknown deployment) in the API's `{error, details}` shape; the sidecar's own refusals are
 * plain text (Go's http.Error) except 409, which is `{error, error_description}`.
 */

/** Statuses the sidecar or the proxy answers about the conversation itself (handlers.go), turned into ConversationErrors. */
const REFUSALS = [401, 403, 404, 409, 424];
/** How long a best-effort cancel after a cut turn may take. */
const CANCEL_TIMEOUT_MS = 10_000;

export class AstropodsConversations implements Conversations {
  constructor(private readonly http: HttpClient) {}

  /** Creates a conversation on the preview's sidecar: `POST …/messaging/conversations` → 201 {conversation_id, created_at}. */
  async open(target: ConversationTarget, options: OpenConversationOptions = {}): Promise<ConversationSession> {
    const deploymentId = target.deployment.id;
    if (!deploymentId) throw new ConversationError(`the ${target.agentName} preview has no Astropods deployment id to talk to`);
    const base = `/deployments/${encodeURIComponent(deploymentId)}`;
    if (options.resume) return this.resume(base, options.resume, target.agentName, options.signal);
    // `metadata` is a documented optional field (a map of strings); the sidecar accepts and currently drops it.
    const response = await refuseOrReturn(
      this.http,
      { call: 'create conversation', method: 'POST', path: `${base}/messaging/conversations`, json: { metadata: { ...target.metadata } }, signal: options.signal },
      target.agentName,
    );
    const conversationId = stringField(response.body ?? {}, 'conversation_id');
    if (!conversationId) {
      throw new ConversationError(`POST ${base}/messaging/conversations answered HTTP ${response.status} without a conversation_id`);
    }
    return new AstropodsConversation(this.http, base, conversationId, target.agentName);
  }

  /**
   * An earlier conversation, to continue: the sidecar persists each one (`GET …/chat/conversations/{cid}`,
   * @c2db753:internal/adapter/web/chat_handlers.go) on the deployment that held it; a 404 there
   * (another deployment now, or a sidecar that lost it) means it is gone.
   */
  private async resume(base: string, conversationId: string, agentName: string, signal?: AbortSignal): Promise<ConversationSession> {
    try {
      await refuseOrReturn(this.http, { call: 'get conversation', method: 'GET', path: `${base}/chat/conversations/${encodeURIComponent(conversationId)}`, signal }, agentName);
    } catch (err) {
      if (err instanceof ConversationError && err.code === 404) throw new ConversationError(err.message, 'gone');
      throw err;
    }
    return new AstropodsConversation(this.http, base, conversationId, agentName, true);
  }
}

class AstropodsConversation implements ConversationSession {
  /** The best-effort cancel of a cut turn, awaited before the next message and by close. */
  private cancelling?: Promise<void>;

  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
    readonly id: string,
    private readonly agentName: string,
    readonly resumed?: boolean,
  ) {}

  private get path(): string {
    return `${this.base}/messaging/conversations/${encodeURIComponent(this.id)}`;
  }

  async send(message: string, options: CallOptions = {}): Promise<ConversationReply> {
    const signal = options.signal;
    await this.cancelling;
    try {
      const sent = await refuseOrReturn(this.http, { call: 'send message', method: 'POST', path: `${this.path}/messages`, json: { content: message }, signal }, this.agentName);
      await this.awaitTurnEnd(signal);
      const replies = await this.repliesAfterLastUserMessage(signal);
      const text = redact(replies.map((row) => row.content).join('\n\n'));
      if (!text.trim()) throw new ConversationError(`the ${this.agentName} preview ended its turn without any text`, 'empty_reply');
      return { text, raw: { conversation_id: this.id, message_id: stringField(sent.body ?? {}, 'message_id'), reply_message_ids: replies.map((row) => row.id) } };
    } catch (err) {
      if (!signal?.aborted) throw err;
      this.cancelling = this.cancel();
      throw signal.reason ?? err;
    }
  }

  async close(): Promise<void> {
    await this.cancelling;
  }

  /** Reads the conversation's event stream until the turn's `finish` (or its `error`), then lets go of it. */
  private async awaitTurnEnd(signal?: AbortSignal): Promise<void> {
    // The sidecar keeps the stream open after `finish`: aborting this lets go of the connection.
    const done = new AbortController();
    try {
      await this.readTurnEvents(signal ? AbortSignal.any([signal, done.signal]) : done.signal);
    } finally {
      done.abort();
    }
  }

  private async readTurnEvents(signal: AbortSignal): Promise<void> {
    const response = await this.http.request<never>({
      call: 'stream conversation',
      method: 'GET',
      path: `${this.path}/stream`,
      headers: { accept: 'text/event-stream' },
      accept: REFUSALS,
      stream: true,
      signal,
    });
    if (REFUSALS.includes(response.status)) {
      const text = await readAll(response.body);
      throw refusal(`GET ${this.path}/stream (stream conversation)`, response.status, text, this.agentName);
    }
    for await (const event of readServerSentEvents(response.body)) {
      const data = parseEventData(event.data);
      const type = event.event ?? stringField(data, 'type');
      if (type === 'finish') return;
      if (type === 'error') {
        const code = stringField(data, 'code');
        throw new ConversationError(
          redact(`the ${this.agentName} preview answered with an error${code ? ` (${code})` : ''}: ${stringField(data, 'message') ?? 'no message'}`),
          code,
        );
      }
      // A blocking form (events.go InteractionEventData) waits for a person; a scripted turn cannot
      // fill it in, so the turn is cancelled, which leaves the conversation open to the next message.
      if (type === 'interaction') {
        this.cancelling = this.cancel();
        throw new ConversationError(
          redact(`the ${this.agentName} preview asked for input a scripted conversation cannot give: ${stringField(data, 'message') ?? 'a form'}`),
          'interaction',
        );
      }
    }
    throw new ConversationError(`the ${this.agentName} preview's message stream closed before the turn finished`);
  }

  /** The assistant rows the sidecar persisted after the newest user row (ours, once the send has answered). */
  private async repliesAfterLastUserMessage(signal?: AbortSignal): Promise<{ id?: string; content: string }[]> {
    const path = `${this.base}/chat/conversations/${encodeURIComponent(this.id)}`;
    const response = await this.http.request<Json>({ call: 'read conversation', method: 'GET', path, accept: REFUSALS, signal });
    if (REFUSALS.includes(response.status)) {
      const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
      if (response.status !== 404) throw refusal(`GET ${path} (read conversation)`, response.status, body, this.agentName);
      // The reply is read from the sidecar's chat store, which it keeps only with CHAT_DB_PATH set (messaging README).
      throw new ConversationError(
        `GET ${path} (read conversation) was refused with HTTP 404: ${describeRefusal(body)} (the ${this.agentName} preview keeps no chat history to read the reply from, or its deployment is gone)`,
        404,
      );
    }
    const rows = (Array.isArray(response.body?.messages) ? response.body.messages : []) as Json[];
    const lastUser = rows.map((row) => row.role).lastIndexOf('user');
    return rows
      .slice(lastUser + 1)
      .filter((row) => row.role === 'assistant')
      .map((row) => ({ id: stringField(row, 'id'), content: typeof row.content === 'string' ? row.content : '' }));
  }

  /** `POST …/cancel` → 204 (handlers.go HandleCancel): drops the agent's late output; failures are ignored. */
  private async cancel(): Promise<void> {
    await this.http
      .request({
        call: 'cancel turn',
        method: 'POST',
        path: `${this.path}/cancel`,
        accept: REFUSALS,
        idempotent: true,
        timeoutMs: CANCEL_TIMEOUT_MS,
        signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
      })
      .catch(() => undefined);
  }
}

/** A request whose refusals (REFUSALS) become ConversationErrors; other failures stay the client's ApiErrors. */
async function refuseOrReturn(http: HttpClient, options: RequestOptions<Json>, agentName: string): Promise<HttpResponse<Json>> {
  const response = await http.request<Json>({ ...options, stream: false, accept: REFUSALS });
  if (REFUSALS.includes(response.status)) {
    const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
    throw refusal(`${options.method} ${options.path} (${options.call})`, response.status, body, agentName);
  }
  return response;
}

function refusal(call: string, status: number, body: string, agentName: string): ConversationError {
  const detail = describeRefusal(body);
  const head = `${call} was refused with HTTP ${status}: ${detail}`;
  switch (status) {
    case 401:
    case 403:
      return new ConversationError(
        `${head}. agent-preview sends the Astropods API token (ASTRO_ACCESS_TOKEN) to astro-server's messaging proxy, which is ASSUMED to accept it (astro-cli never calls that proxy); chat with the preview in the Astropods web UI instead`,
        status,
      );
    case 409:
      return new ConversationError(`${head}: the ${agentName} preview is still answering an earlier message of this conversation`, 'turn_in_progress');
    case 424:
      return new ConversationError(`${head}: no agent is connected to the ${agentName} preview's messaging sidecar (it is not running, or still starting)`, 'agent_unavailable');
    default:
      return new ConversationError(`${head} (the preview's deployment or this conversation is gone)`, status);
  }
}

/** The sidecar's plain-text refusals, its 409 `{error, error_description}` and the proxy's `{error, details}`, in words. */
function describeRefusal(body: string): string {
  const parsed = parseEventData(body);
  const description = stringField(parsed, 'error_description');
  const error = stringField(parsed, 'error');
  if (error && description) return redact(`${error}: ${description}`);
  return describeErrorBody(body);
}

function parseEventData(data: string): Json {
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : {};
  } catch {
    return {};
  }
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
