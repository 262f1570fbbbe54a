import type { IncomingMessage } from 'node:http';

/** Webhook bodies larger than this are refused; GitHub caps its payloads at 25 MB, ours are small. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/**
 * The raw body, refused as soon as it passes `limit` bytes (by Content-Length or by counting). The
 * rest of an oversize body is drained, not read, so the 413 can still be sent on the socket.
 */
export function readLimitedBody(req: IncomingMessage, limit = MAX_WEBHOOK_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new BodyTooLargeError(`the body is ${declared} bytes; at most ${limit} are accepted`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        reject(new BodyTooLargeError(`the body passed ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

export function isJsonContentType(value: string | undefined): boolean {
  return /^\s*application\/json\s*(;|$)/i.test(value ?? '');
}
