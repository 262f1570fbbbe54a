/**
 * A plain HTTP conversation with a preview that has a URL (`http:` in preview-smoke.yaml): each
 * message is one request to the preview, and the reply is read from its answer with a JSON pointer.
 * HTTP keeps no history by itself; `{conversation}` (one id per conversation) lets an agent that
 * keeps history by id see the turns as one conversation.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ApiError, ConversationError } from '../errors.js';
import { HttpClient } from '../http/client.js';
import type { CallOptions, ConversationReply, ConversationSession } from '../platforms/platform.js';
import { urlCarriesCredential } from '../secrets/redact.js';
import type { HttpConversation } from './script.js';

export interface HttpSessionOptions {
  /** For tests and proxies; the process-wide dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/** Opens a conversation over HTTP with the preview at `url`. */
export function openHttpSession(url: string, spec: HttpConversation, options: HttpSessionOptions = {}): ConversationSession {
  if (!/^https?:\/\//i.test(url) || urlCarriesCredential(url)) throw new ConversationError(`the preview URL is not a plain http(s) URL this can talk to`);
  const base = new URL(url);
  const id = randomUUID();
  // No retries: a message sent twice is a second turn the agent answers (and bills) again.
  const client = new HttpClient({ baseUrl: `${base.origin}${base.pathname.replace(/\/+$/, '')}`, retry: { retries: 0 }, dispatcher: options.dispatcher });
  return {
    id,
    async send(message: string, call: CallOptions = {}): Promise<ConversationReply> {
      // One pass, so a message that itself says {conversation} is sent as it is.
      const fill = (text: string, encode: (value: string) => string) => text.replace(/\{(message|conversation)\}/g, (_, name: string) => encode(name === 'message' ? message : id));
      const requestPath = fill(spec.path, encodeURIComponent);
      const json = spec.body && 'json' in spec.body ? fillStrings(spec.body.json, (text) => fill(text, (value) => value)) : undefined;
      const text = spec.body && 'text' in spec.body ? fill(spec.body.text, (value) => value) : undefined;
      let answer: unknown;
      try {
        const response = await client.request<unknown>({
          call: 'send a message to the preview',
          method: spec.method,
          path: requestPath,
          json,
          body: text === undefined ? undefined : { contentType: 'text/plain; charset=utf-8', length: Buffer.byteLength(text), open: () => Readable.from([Buffer.from(text)]) },
          signal: call.signal,
          // The turn's own signal is its timeout; the client's per-attempt timeout must not cut it shorter.
          timeoutMs: 30 * 60_000,
        });
        answer = response.body;
      } catch (err) {
        if (call.signal?.aborted) throw err;
        if (err instanceof ApiError) throw new ConversationError(err.message, err.status);
        throw err;
      }
      return { text: replyText(answer, spec.reply), raw: { conversation: id } };
    },
  };
}

/** Every string in a JSON template with the placeholders filled in (so JSON encoding escapes the message). */
function fillStrings(template: unknown, fill: (text: string) => string): unknown {
  if (typeof template === 'string') return fill(template);
  if (Array.isArray(template)) return template.map((item) => fillStrings(item, fill));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillStrings(value, fill)]));
  return template;
}

/** The reply in the answer: the pointed-at value (text as it is, anything else as JSON), or the whole answer. */
function replyText(answer: unknown, pointer: string | undefined): string {
  if (pointer === undefined) return typeof answer === 'string' ? answer : answer === undefined ? '' : JSON.stringify(answer);
  if (typeof answer === 'string' || answer === undefined) throw new ConversationError(`the answer is not JSON, so the reply pointer "${pointer}" finds nothing`);
  const found = resolvePointer(answer, pointer);
  if (!found.found) throw new ConversationError(`the answer has nothing at the reply pointer "${pointer}"${found.at ? ` (no "${found.at}")` : ''}`);
  return typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
}

/**
 * RFC 6901 (JSON Pointer), §3 and §4: `/a/0/b`, with `~1` for `/` and `~0` for `~`. Hand-written:
 * the whole of it is these few lines, less than any package's wrapper around them.
 */
export function resolvePointer(document: unknown, pointer: string): { found: true; value: unknown } | { found: false; at?: string } {
  if (pointer === '') return { found: true, value: document };
  let current = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= current.length) return { found: false, at: token };
      current = current[Number(token)];
    } else if (current && typeof current === 'object' && Object.prototype.hasOwnProperty.call(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else return { found: false, at: token };
  }
  return { found: true, value: current };
}
