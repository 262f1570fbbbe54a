/**
 * The messaging sidecar of each Astropods deployment, as astro-server's deployment-scoped proxy
 * presents it (`/api/v1/deployments/{id}/messaging/*` → the sidecar's `/api/*`, `…/chat/*` →
 * `/api/chat/*`, astropods/astro-cli@7e52620 internal/chatui/server.go), rebuilt from the sidecar's
 * own source, astropods/messaging@c2db7534a5a032dd2cdf9041ff90d0268e82e991 (cited `@c2db753:file`):
 *
 *   POST …/messaging/conversations {title?, metadata?}      → 201 {conversation_id, created_at}; the body is optional
 *                                                             and a bad one is ignored (handlers.go HandleCreateConversation)
 *   POST …/messaging/conversations/{cid}/messages {content, attachments?}
 *        → 200 {message_id, timestamp}; 400 "Invalid request body" (not JSON, wrong types), 400 "Content or
 *          attachment is required", 409 {error: turn_in_progress, error_description}, 413 "too many attachments",
 *          400 "unknown attachment", 424 "agent unavailable" (no agent connected; the turn is finalised
 *          empty). An unknown conversation id is created (store/sqlite/store.go EnsureForSend); unknown fields are
 *          ignored (Go's json decoder). Listing, renaming and deleting conversations
 *          (chat_handlers.go) and the files and audio routes are not served.
 *   GET  …/messaging/conversations/{cid}/stream              → SSE: `connected`, then the conversation's events
 *          (`chunk` start/delta/end, `finish`, `error`, `interaction`), each with a per-conversation `id:`. A
 *          fresh subscribe settles for `settleMs` (300 ms in the sidecar): a live chunk means the turn is live, a
 *          finish or error ends the stream, and silence with a finished turn is answered with `finish`
 *          (handlers.go settleFreshSubscribe). 404 "conversation not found" for an unknown one.
 *   POST …/messaging/conversations/{cid}/cancel              → 204: the partial reply is persisted, `finish` is sent
 *          and the conversation's streams are closed (HandleCancel)
 *   GET  …/chat/conversations/{cid}?limit&before_seq         → {conversation_id, title, updated_at, messages: [{id, role,
 *          content}], assistant_streaming, oldest_seq}; 400 "invalid pagination" (chat_handlers.go)
 * The sidecar's refusals are Go `http.Error`s: plain text with a trailing newline.
 *
 * ASSUMED (no source): the proxy authenticates with the API's bearer token (done by the caller), answers an
 * unknown deployment with the API's `{error, details}` 404, and a deployment that is not up yet with 502
 * "messaging sidecar unreachable" as astro-cli's local proxy does.
 *
 * The agent behind every sidecar is ours and deterministic: it answers `Reply <n> to: <message>` (n counts
 * the user messages of the conversation, so a shared history shows), streamed as start/delta/end chunks
 * once a stream listens (ASSUMED timing, so that tests see the live path deterministically). Directives
 * in the message change it: `[fast]` answers before the send returns (a turn over before anyone
 * subscribes), `[slow]` never answers, `[fail]` answers with an `AGENT_ERROR` error event (`[fail-leak]`:
 * one quoting the API token), `[offline]` finds no agent (424), `[empty]` ends its turn with no text,
 * `[leak]` quotes the API token and a signed URL, `[form]` asks for a form.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Json = Record<string, any>;

export interface MessagingRow {
  id: string;
  role: 'user' | 'assistant';
  content: string;
}

export interface SidecarConversation {
  id: string;
  deploymentId: string;
  createBody?: unknown;
  rows: MessagingRow[];
  streaming: boolean;
  cancels: number;
}

export interface MessagingSidecars {
  /**
   * Serves a request when its path is a deployment's messaging or chat route; returns false otherwise.
   * `deployment` is what the proxy knows of the path's deployment (undefined when there is none).
   */
  serve(req: IncomingMessage, res: ServerResponse, parts: string[], raw: Buffer, deployment: { ready: boolean } | undefined): boolean;
  conversations(): SidecarConversation[];
  /** Event streams still open, over all conversations. */
  openStreams(): number;
  close(): void;
}

interface SseEvent {
  event: string;
  id?: number;
  data: Json;
}

interface Subscriber {
  res: ServerResponse;
  settling: boolean;
}

interface Conversation extends SidecarConversation {
  title: string;
  updatedAt: string;
  seq: number;
  partial: string;
  subscribers: Set<Subscriber>;
  /** An answer waiting for a stream to listen. */
  pending?: () => void;
}

const MAX_ATTACHMENTS = 16;
const TITLE_MAX = 80;

export function createMessagingSidecars(options: { token: string; settleMs?: number }): MessagingSidecars {
  const settleMs = options.settleMs ?? 300;
  const conversations = new Map<string, Conversation>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  /** Go's `http.Error`: plain text and a newline. */
  function textError(res: ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    res.end(`${message}\n`);
  }

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  }

  function write(res: ServerResponse, event: SseEvent): void {
    res.write(`${event.id ? `id: ${event.id}\n` : ''}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
  }

  function end(conversation: Conversation, subscriber: Subscriber): void {
    conversation.subscribers.delete(subscriber);
    subscriber.res.end();
  }

  /** The connection manager's Broadcast: numbered, to every stream of the conversation. */
  function broadcast(conversation: Conversation, event: string, data: Json): void {
    const numbered: SseEvent = { event, id: ++conversation.seq, data };
    for (const subscriber of [...conversation.subscribers]) {
      write(subscriber.res, numbered);
      // A settling subscribe returns on a terminal event; a live chunk ends the settling.
      if (subscriber.settling && (event === 'finish' || event === 'error')) end(conversation, subscriber);
      else if (event !== 'heartbeat') subscriber.settling = false;
    }
  }

  function closeStreams(conversation: Conversation): void {
    for (const subscriber of [...conversation.subscribers]) end(conversation, subscriber);
  }

  const lastRole = (conversation: Conversation) => conversation.rows.at(-1)?.role;

  /** FinalizeTerminal / FinalizeStopped: the turn's partial becomes the assistant row when the user's is still the last. */
  function finalize(conversation: Conversation): void {
    if (lastRole(conversation) === 'user') conversation.rows.push({ id: randomUUID(), role: 'assistant', content: conversation.partial });
    conversation.partial = '';
    conversation.streaming = false;
  }

  function chunk(conversation: Conversation, type: 'start' | 'delta' | 'end', content: string, responseId: string): void {
    if (type === 'start') conversation.partial = '';
    conversation.partial += content;
    broadcast(conversation, 'chunk', { type: 'chunk', content, chunk_type: type, response_id: responseId });
  }

  /** Our agent's turn (see the header for its directives). */
  function answer(conversation: Conversation, message: string): void {
    const responseId = randomUUID();
    if (message.includes('[slow]')) return;
    if (message.includes('[form]')) {
      chunk(conversation, 'start', '', responseId);
      broadcast(conversation, 'interaction', {
        type: 'interaction',
        id: randomUUID(),
        kind: 'form',
        message: 'Pick a plan',
        dataSchema: { type: 'object' },
        actions: ['submit', 'cancel'],
      });
      return;
    }
    if (message.includes('[fail')) {
      const quoted = message.includes('[fail-leak]') ? ` (sent with Bearer ${options.token})` : '';
      finalize(conversation);
      broadcast(conversation, 'error', { type: 'error', code: 'AGENT_ERROR', message: `model call failed: upstream 500${quoted}`, retryable: false });
      return;
    }
    const turn = conversation.rows.filter((row) => row.role === 'user').length;
    const text = message.includes('[empty]')
      ? ''
      : message.includes('[leak]')
        ? `the key is ${options.token}; try https://edge.example/?edge_token=edge-secret-4711`
        : `Reply ${turn} to: ${message}`;
    chunk(conversation, 'start', '', responseId);
    for (const part of text ? [text.slice(0, 6), text.slice(6)] : []) chunk(conversation, 'delta', part, responseId);
    chunk(conversation, 'end', '', responseId);
    // On END the buffered reply is persisted and the turn ends with `finish` (adapter.go HandleAgentResponse).
    conversation.rows.push({ id: responseId, role: 'assistant', content: conversation.partial });
    conversation.partial = '';
    conversation.streaming = false;
    broadcast(conversation, 'finish', { type: 'finish', response_id: responseId });
  }

  /** Every deployment has a sidecar of its own, so conversations are kept per deployment. */
  function conversationFor(deploymentId: string, id: string, create: boolean): Conversation | undefined {
    const key = `${deploymentId}/${id}`;
    const found = conversations.get(key);
    if (found || !create) return found;
    const conversation: Conversation = {
      id,
      deploymentId,
      rows: [],
      streaming: false,
      cancels: 0,
      title: '',
      updatedAt: new Date().toISOString(),
      seq: 0,
      partial: '',
      subscribers: new Set(),
    };
    conversations.set(key, conversation);
    return conversation;
  }

  /** HandleSendMessage, in its order: decode, content, 409, 413, attachments, ownership, persist, forward. */
  function send(res: ServerResponse, deploymentId: string, id: string, raw: Buffer): void {
    let body: Json;
    try {
      body = JSON.parse(raw.toString('utf8'));
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      if (body.content !== undefined && body.content !== null && typeof body.content !== 'string') throw new Error('content');
      if (body.attachments !== undefined && body.attachments !== null && !Array.isArray(body.attachments)) throw new Error('attachments');
    } catch {
      return textError(res, 400, 'Invalid request body');
    }
    const content: string = body.content ?? '';
    const attachments: unknown[] = body.attachments ?? [];
    if (content === '' && attachments.length === 0) return textError(res, 400, 'Content or attachment is required');
    const existing = conversationFor(deploymentId, id, false);
    if (existing?.streaming) return json(res, 409, { error: 'turn_in_progress', error_description: 'a response is already in progress on this conversation' });
    if (attachments.length > MAX_ATTACHMENTS) return textError(res, 413, 'too many attachments');
    // No file store holds anything here, so every attachment key is unknown.
    if (attachments.length) return textError(res, 400, 'unknown attachment');
    const conversation = conversationFor(deploymentId, id, true)!;
    conversation.title ||= [...content].slice(0, TITLE_MAX).join('');
    conversation.updatedAt = new Date().toISOString();
    conversation.rows.push({ id: randomUUID(), role: 'user', content });
    if (content.includes('[offline]')) {
      finalize(conversation);
      broadcast(conversation, 'error', { type: 'error', code: 'AGENT_UNAVAILABLE', message: 'The agent is not available right now. You can try sending again.', retryable: false });
      return textError(res, 424, 'agent unavailable');
    }
    conversation.streaming = true;
    const messageId = randomUUID();
    if (content.includes('[fast]')) answer(conversation, content);
    else {
      conversation.pending = () => {
        conversation.pending = undefined;
        answer(conversation, content);
      };
    }
    json(res, 200, { message_id: messageId, timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
  }

  function stream(res: ServerResponse, conversation: Conversation): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    write(res, { event: 'connected', data: { type: 'connected', conversation_id: conversation.id, connection_id: randomUUID() } });
    const subscriber: Subscriber = { res, settling: true };
    conversation.subscribers.add(subscriber);
    res.on('close', () => conversation.subscribers.delete(subscriber));
    later(settleMs, () => {
      if (!subscriber.settling || !conversation.subscribers.has(subscriber)) return;
      subscriber.settling = false;
      // streamTurnTerminal: the newest row is the assistant's and nothing streams, so the turn is over.
      if (!conversation.streaming && lastRole(conversation) === 'assistant') {
        write(res, { event: 'finish', id: conversation.seq || undefined, data: { type: 'finish' } });
        end(conversation, subscriber);
      }
    });
    setImmediate(() => conversation.pending?.());
  }

  function cancel(res: ServerResponse, conversation: Conversation): void {
    conversation.cancels++;
    conversation.pending = undefined;
    finalize(conversation);
    broadcast(conversation, 'finish', { type: 'finish' });
    closeStreams(conversation);
    res.writeHead(204);
    res.end();
  }

  function read(res: ServerResponse, conversation: Conversation, query: URLSearchParams): void {
    const limit = query.get('limit')?.trim();
    const before = query.get('before_seq')?.trim();
    const badLimit = limit !== undefined && limit !== '' && !(/^\d+$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 1000);
    const badBefore = before !== undefined && before !== '' && !(/^\d+$/.test(before) && Number(before) >= 1);
    if (badLimit || badBefore) return textError(res, 400, 'invalid pagination');
    const rows = conversation.rows.slice(-Number(limit || 100));
    json(res, 200, {
      conversation_id: conversation.id,
      title: conversation.title,
      updated_at: conversation.updatedAt,
      messages: rows.map(({ id, role, content }) => ({ id, role, content })),
      assistant_streaming: lastRole(conversation) === 'user' || conversation.streaming,
      ...(rows.length ? { oldest_seq: conversation.rows.length - rows.length + 1 } : {}),
    });
  }

  return {
    serve(req, res, parts, raw, deployment) {
      // parts: api, v1, deployments, {id}, messaging|chat, …
      if (parts[2] !== 'deployments' || (parts[4] !== 'messaging' && parts[4] !== 'chat')) return false;
      const deploymentId = parts[3];
      if (!deployment) {
        json(res, 404, { error: 'not found', details: `deployment ${deploymentId} not found` });
        return true;
      }
      if (!deployment.ready) {
        textError(res, 502, 'messaging sidecar unreachable');
        return true;
      }
      const method = req.method ?? 'GET';
      const route = parts.slice(5);
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const [collection, id, action, ...rest] = route;
      if (collection !== 'conversations' || rest.length) {
        textError(res, 404, '404 page not found');
        return true;
      }
      if (parts[4] === 'chat') {
        const conversation = id && !action ? conversationFor(deploymentId, id, false) : undefined;
        if (!id || action) textError(res, 404, '404 page not found');
        else if (method !== 'GET') textError(res, 405, 'Method Not Allowed');
        else if (!conversation) textError(res, 404, 'conversation not found');
        else read(res, conversation, query);
        return true;
      }
      if (!id) {
        if (method !== 'POST') textError(res, 405, 'Method Not Allowed');
        else {
          // `_ = json.NewDecoder(r.Body).Decode(&req) // Allow empty body`
          const conversation = conversationFor(deploymentId, randomUUID(), true)!;
          try {
            conversation.createBody = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
          } catch {
            conversation.createBody = undefined;
          }
          json(res, 201, { conversation_id: conversation.id, created_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
        }
        return true;
      }
      const known = ['messages', 'cancel', 'stream'];
      const wanted = { messages: 'POST', cancel: 'POST', stream: 'GET' }[action as 'messages'];
      if (!known.includes(action)) textError(res, 404, '404 page not found');
      else if (method !== wanted) textError(res, 405, 'Method Not Allowed');
      else if (action === 'messages') send(res, deploymentId, id, raw);
      else {
        const conversation = conversationFor(deploymentId, id, false);
        if (!conversation) textError(res, 404, 'conversation not found');
        else if (action === 'stream') stream(res, conversation);
        else cancel(res, conversation);
      }
      return true;
    },
    conversations: () =>
      [...conversations.values()].map(({ id, deploymentId, createBody, rows, streaming, cancels }) => ({ id, deploymentId, createBody, rows: [...rows], streaming, cancels })),
    openStreams: () => [...conversations.values()].reduce((sum, conversation) => sum + conversation.subscribers.size, 0),
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const conversation of conversations.values()) closeStreams(conversation);
    },
  };
}
