import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { ApiError } from '../errors.js';
import { redact } from '../secrets/redact.js';

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this fails the call instead of sleeping through it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, minDelayMs: 250, maxDelayMs: 20_000, maxRetryAfterMs: 120_000 };

export interface RetryNotice {
  call: string;
  attempt: number;
  of: number;
  delayMs: number;
  reason: string;
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Sent with every request (auth lives here; values are registered as secrets by the caller). */
  headers?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  /** Per attempt: time allowed for the response headers and between body chunks. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  onRetry?: (notice: RetryNotice) => void;
}

export interface RequestBody {
  contentType: string;
  length?: number;
  /** Called once per attempt, so a retry re-reads the body from its source. */
  open(): Readable;
}

export interface RequestOptions<T> {
  /** What this call does, for messages: "create build". */
  call: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  json?: unknown;
  body?: RequestBody;
  headers?: Record<string, string>;
  /** Statuses accepted besides 2xx, returned to the caller instead of thrown. */
  accept?: number[];
  /**
   * A call that is unsafe to repeat blindly (a create). It is retried freely only where the server
   * surely did no work (429, refused connections). After an ambiguous failure (5xx, reset, timeout)
   * `reconcile` is asked whether the work landed; what it finds is returned as the result, and only
   * when it finds nothing is the call sent again. Without `reconcile`, ambiguous failures are final.
   */
  idempotent?: boolean;
  reconcile?: () => Promise<T | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Return the open body stream instead of reading it (for event streams). */
  stream?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  /** True when the result came from `reconcile` after an ambiguous failure. */
  reconciled?: boolean;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
/** Failures where the request surely never reached the server's handler. */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

type Outcome = { kind: 'ok'; response: HttpResponse<unknown> | StreamResponse } | { kind: 'retry'; reason: string; retryAfterMs?: number; delivered: boolean; error: ApiError };

/** JSON-over-HTTP client with retries, backoff with jitter, Retry-After, timeouts and secret-free errors. */
export class HttpClient {
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  async request<T>(opts: RequestOptions<T> & { stream?: false }): Promise<HttpResponse<T>>;
  async request<T>(opts: RequestOptions<T> & { stream: true }): Promise<StreamResponse>;
  async request<T>(opts: RequestOptions<T>): Promise<HttpResponse<T> | StreamResponse> {
    const idempotent = opts.idempotent ?? opts.method !== 'POST';
    const label = `${opts.method} ${opts.path} (${opts.call})`;
    const attempts = this.retry.retries + 1;
    for (let attempt = 1; ; attempt++) {
      opts.signal?.throwIfAborted();
      const outcome = await this.attempt(opts, label);
      if (outcome.kind === 'ok') return outcome.response as HttpResponse<T> | StreamResponse;

      const safeToRepeat = idempotent || !outcome.delivered;
      if (!safeToRepeat) {
        if (!opts.reconcile) throw outcome.error;
        const landed = await opts.reconcile();
        if (landed !== undefined) return { status: 200, headers: {}, body: landed, reconciled: true };
      }
      if (attempt >= attempts) throw outcome.error;
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > this.retry.maxRetryAfterMs) {
        throw new ApiError(label, outcome.error.status, `${outcome.error.detail} (server asked to retry after ${Math.round(outcome.retryAfterMs / 1000)} s, longer than allowed)`);
      }
      const delayMs = outcome.retryAfterMs ?? backoffDelay(attempt, this.retry);
      this.options.onRetry?.({ call: label, attempt: attempt + 1, of: attempts, delayMs, reason: outcome.reason });
      await sleep(delayMs, undefined, { signal: opts.signal });
    }
  }

  /** Convenience for the common JSON case. */
  async json<T>(opts: RequestOptions<T>): Promise<T> {
    return (await this.request<T>({ ...opts, stream: false })).body;
  }

  private async attempt<T>(opts: RequestOptions<T>, label: string): Promise<Outcome> {
    const url = new URL(this.baseUrl + opts.path);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers, ...opts.headers };
    let body: string | Readable | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body) {
      headers['content-type'] = opts.body.contentType;
      if (opts.body.length !== undefined) headers['content-length'] = String(opts.body.length);
      body = opts.body.open();
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    try {
      const response = await request(url, {
        method: opts.method,
        headers,
        body,
        signal: opts.signal,
        dispatcher: this.options.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: opts.stream ? 0 : timeoutMs,
      });
      const status = response.statusCode;
      const ok = (status >= 200 && status < 300) || opts.accept?.includes(status);
      if (ok && opts.stream) {
        return { kind: 'ok', response: { status, headers: response.headers, body: Readable.from(response.body) } };
      }
      const text = await response.body.text();
      if (ok) {
        return { kind: 'ok', response: { status, headers: response.headers, body: parseBody(text) } };
      }
      const error = new ApiError(label, status, describeErrorBody(text));
      if (!RETRYABLE_STATUS.has(status)) throw error;
      return {
        kind: 'retry',
        reason: `HTTP ${status}`,
        retryAfterMs: parseRetryAfter(response.headers['retry-after']),
        // A 429 is a refusal before any work; other retryable statuses may have done work.
        delivered: status !== 429,
        error,
      };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      const code = errorCode(err);
      const error = new ApiError(label, undefined, redact(`${code ?? 'network error'}: ${(err as Error).message}`), { cause: err });
      if (!code || !RETRYABLE_ERRORS.has(code)) throw error;
      return { kind: 'retry', reason: code, delivered: !NOT_DELIVERED.has(code), error };
    } finally {
      if (body instanceof Readable && !body.destroyed) body.destroy();
    }
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The server's own words from an error body: FastAPI `detail`, or `message`/`error`, or the text. */
export function describeErrorBody(text: string): string {
  const parsed = parseBody(text);
  let detail: string;
  if (parsed && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    const candidate = record.detail ?? record.message ?? record.error ?? record.errors;
    if (typeof candidate === 'string') detail = candidate;
    else if (Array.isArray(candidate)) detail = candidate.map(describeValidationItem).join('; ');
    else detail = JSON.stringify(parsed);
    // Which field was wrong: MUTX's 422 `{message, details: [{loc, msg}]}`, Astropods' `{error, details}`.
    const details = candidate === record.detail ? undefined : describeDetails(record.details);
    if (details && !detail.includes(details)) detail = `${detail}: ${details}`;
  } else {
    detail = typeof parsed === 'string' && parsed.trim() ? parsed.trim() : 'no message from the server';
  }
  return redact(detail.length > 2000 ? `${detail.slice(0, 2000)}…` : detail);
}

function describeDetails(details: unknown): string | undefined {
  if (typeof details === 'string') return details.trim() || undefined;
  if (Array.isArray(details)) return details.length ? details.map(describeValidationItem).join('; ') : undefined;
  if (details && typeof details === 'object') return JSON.stringify(details);
  return undefined;
}

function describeValidationItem(item: unknown): string {
  if (item && typeof item === 'object') {
    const { loc, msg, message } = item as { loc?: unknown[]; msg?: string; message?: string };
    const where = Array.isArray(loc) ? loc.filter((part) => part !== 'body').join('.') : undefined;
    const text = msg ?? message ?? JSON.stringify(item);
    return where ? `${where}: ${text}` : text;
  }
  return String(item);
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with full jitter: a random delay up to min(max, min * 2^(attempt-1)). */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
  return Math.round(policy.minDelayMs / 2 + random() * (ceiling - policy.minDelayMs / 2));
}
