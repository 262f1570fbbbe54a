import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteId } from './faults.js';
import { ClientError } from './state.js';

/** One request as the local platform saw it, for tests that count calls. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  route?: RouteId;
  status: number;
  /** ms since the epoch, when the request arrived. */
  at: number;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const MAX_JSON_BYTES = 5 * 1024 * 1024;

export function send(res: ServerResponse, record: RecordedRequest, reply: Reply): void {
  record.status = reply.status;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...reply.headers });
  res.end(body);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').includes('json')) {
    req.resume();
    throw new ClientError(415, 'send application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw new ClientError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new ClientError(400, 'the body is not a JSON object');
  }
}
