import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { RequestBody } from './client.js';

export interface MultipartFile {
  field: string;
  path: string;
  filename: string;
  size: number;
  contentType?: string;
}

/**
 * A multipart/form-data body whose file part is streamed from disk on every attempt, with an exact
 * Content-Length so the upload needs no chunked encoding and progress can be reported.
 */
export function multipartBody(fields: Record<string, string | undefined>, file: MultipartFile, onProgress?: (sentBytes: number, totalBytes: number) => void): RequestBody {
  const boundary = `----agent-preview-${randomBytes(12).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(file.field)}"; filename="${escapeQuoted(file.filename)}"\r\n` +
    `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(tail);
  const length = headBytes.length + file.size + tailBytes.length;

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    open(): Readable {
      const out = new PassThrough({ highWaterMark: 256 * 1024 });
      // Progress counts the file's bytes, the size people were told, not the multipart framing.
      let sent = 0;
      const report = (bytes: number) => {
        sent += bytes;
        onProgress?.(sent, file.size);
      };
      (async () => {
        out.write(headBytes);
        const source = createReadStream(file.path, { highWaterMark: 256 * 1024 });
        for await (const chunk of source) {
          if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
          report((chunk as Buffer).length);
        }
        out.end(tailBytes);
      })().catch((err) => out.destroy(err));
      return out;
    },
  };
}

function escapeQuoted(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r|\n/g, ' ');
}
