/**
 * AWS Lambda entry (API Gateway REST or HTTP API, or a function URL). `@probot/adapter-aws-lambda-serverless`
 * is not used: the same node handler as the server runs behind a small event-to-request bridge.
 * A Lambda is frozen once it returns, so the handler waits for the queued teardown (up to
 * `LAMBDA_TEARDOWN_WAIT`, default 25s; keep the function timeout above it) before answering; what
 * does not finish is left for `sweepHandler`, meant for an EventBridge schedule.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { installProxyDispatcher } from '../http/proxy.js';
import { parseDuration } from '../duration.js';
import { appOptionsFromEnv } from './config.js';
import { createAppHandler, type AppHandler } from './server.js';
import type { SweepReport } from '../previews/sweep.js';

installProxyDispatcher();

export interface HttpEvent {
  httpMethod?: string;
  path?: string;
  rawPath?: string;
  rawQueryString?: string;
  requestContext?: { http?: { method?: string; path?: string } };
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let app: Promise<AppHandler> | undefined;
function appHandler(): Promise<AppHandler> {
  app ??= appOptionsFromEnv(process.env).then((options) => createAppHandler({ ...options, sweep: undefined }));
  return app;
}

export async function handler(event: HttpEvent): Promise<HttpResult> {
  const current = await appHandler();
  const result = await bridge(current, event);
  const waitMs = parseDuration(process.env.LAMBDA_TEARDOWN_WAIT ?? '25s', 'LAMBDA_TEARDOWN_WAIT');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([current.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  return result;
}

/** For a schedule: one sweep; deletes only when SWEEP_DRY_RUN is `false`. */
export async function sweepHandler(): Promise<Pick<SweepReport, 'dryRun' | 'examined'> & { deleted: number; wouldDelete: number; failed: number }> {
  const report = await (await appHandler()).sweepOnce(process.env.SWEEP_DRY_RUN?.trim().toLowerCase() !== 'false');
  return { dryRun: report.dryRun, examined: report.examined, deleted: report.deleted.length, wouldDelete: report.wouldDelete.length, failed: report.failed.length };
}

/** Runs one API Gateway event through the node handler and collects the response. */
export async function bridge(target: Pick<AppHandler, 'handle'>, event: HttpEvent): Promise<HttpResult> {
  const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  headers['content-length'] ??= String(body.length);
  const path = event.rawPath ?? event.path ?? event.requestContext?.http?.path ?? '/';
  const request = Object.assign(Readable.from(body.length ? [body] : []), {
    method: event.httpMethod ?? event.requestContext?.http?.method ?? 'GET',
    url: event.rawQueryString ? `${path}?${event.rawQueryString}` : path,
    headers,
  }) as unknown as IncomingMessage;

  const response = new CollectedResponse();
  await target.handle(request, response as unknown as ServerResponse);
  return response.finished;
}

class CollectedResponse {
  statusCode = 200;
  headersSent = false;
  private readonly headers: Record<string, string> = {};
  private readonly chunks: Buffer[] = [];
  private settle!: (result: HttpResult) => void;
  readonly finished = new Promise<HttpResult>((resolve) => (this.settle = resolve));

  setHeader(name: string, value: string | number | string[]): this {
    this.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    return this;
  }

  writeHead(status: number, headers?: Record<string, string | number | string[]>): this {
    this.statusCode = status;
    for (const [name, value] of Object.entries(headers ?? {})) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }

  end(chunk?: string | Buffer | null): this {
    if (chunk) this.write(chunk);
    this.headersSent = true;
    this.settle({ statusCode: this.statusCode, headers: this.headers, body: Buffer.concat(this.chunks).toString('utf8') });
    return this;
  }
}
