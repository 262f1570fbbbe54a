import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { formatBytes } from '../bytes.js';
import { InputError } from '../errors.js';
import { collectContext } from './collect.js';
import { sha256, treeHashFromDigests, treeModeOf, type HashedMember } from './tree-hash.js';
import type { AgentManifest, ContextEntry, PackedContext } from './types.js';

/** The platform refuses build contexts over 500 MB. */
export const MAX_CONTEXT_BYTES = 500 * 1024 * 1024;
/** Every member gets this mtime (2000-01-01T00:00:00Z), so equal trees give equal bytes. */
export const FIXED_MTIME = 946_684_800;
const BLOCK = 512;
const SMALL_FILE = 1 << 20;
const PIECE_BYTES = 1 << 20;
const gzipAsync = promisify(gzip);

export interface PackOptions {
  /** Where to write the archive; a private temporary folder when absent. */
  outFile?: string;
  maxContextBytes?: number;
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Pack exactly what the Agentex SDK stages (its `.dockerignore` rule alone), so the
   * `working_tree_hash` always equals the SDK's; by default Docker's rule also drops paths.
   */
  sdkExact?: boolean;
}

/** Refuses a context over the limit before anything is written, naming where the bytes are. */
function checkSize(manifest: AgentManifest, entries: ContextEntry[], limit: number): number {
  const total = entries.reduce((sum, entry) => sum + entry.size, 0);
  if (total <= limit) return total;
  const largest = [...entries]
    .sort((a, b) => b.size - a.size)
    .slice(0, 5)
    .map((entry) => `${entry.path} (${formatBytes(entry.size)})`)
    .join(', ');
  throw new InputError(
    `the build context is ${formatBytes(total)}, over the platform's ${formatBytes(limit)} limit; largest: ${largest}. Add what the image does not need to the .dockerignore`,
    { file: manifest.file, field: 'build.context.include_paths' },
  );
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, type: '0' | 'x', prefix = ''): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(FIXED_MTIME, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** ustar name/prefix split, or undefined when the path needs a PAX record. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let at = name.indexOf('/'); at !== -1; at = name.indexOf('/', at + 1)) {
    const prefix = name.slice(0, at);
    const rest = name.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const base = Buffer.byteLength(body);
  let length = base + 1;
  while (base + String(length).length !== length) length = base + String(length).length;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest ? BLOCK - rest : 0);
}

/**
 * gzip in fixed 1 MB pieces compressed side by side on the thread pool, each its own gzip member
 * (RFC 1952 allows a series; gunzip, Python, Go and Docker read them as one stream). Fixed piece
 * boundaries keep the output deterministic; order is kept by writing results in submission order.
 */
class ParallelGzip {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private readonly parallelism = Math.max(2, Math.min(availableParallelism(), 4));

  constructor(private readonly sink: Writable) {}

  async write(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length) {
      const room = PIECE_BYTES - this.pendingBytes;
      const part = rest.length > room ? rest.subarray(0, room) : rest;
      this.pending.push(part);
      this.pendingBytes += part.length;
      rest = rest.subarray(part.length);
      if (this.pendingBytes === PIECE_BYTES) await this.submit();
    }
  }

  private async submit(): Promise<void> {
    if (!this.pendingBytes) return;
    const piece = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight.push(gzipAsync(piece, { level: 6 }));
    while (this.inFlight.length >= this.parallelism) await this.drainOne();
  }

  private async drainOne(): Promise<void> {
    const compressed = await this.inFlight.shift()!;
    if (!this.sink.write(compressed)) await once(this.sink, 'drain');
  }

  async end(): Promise<void> {
    await this.submit();
    while (this.inFlight.length) await this.drainOne();
    this.sink.end();
  }

  abandon(): void {
    // Let in-flight pieces settle unobserved; their output is discarded with the file.
    for (const piece of this.inFlight.splice(0)) piece.catch(() => {});
  }
}

/** Writes one member and returns its content digest, read once for both the archive and the hash. */
async function writeMember(out: ParallelGzip, entry: ContextEntry, signal?: AbortSignal): Promise<string> {
  const split = splitName(entry.path);
  if (!split) {
    const pax = Buffer.from(paxRecord('path', entry.path), 'utf8');
    await out.write(header(`PaxHeader/${entry.path.slice(-80)}`.slice(0, 100), pax.length, 0o644, 'x'));
    await out.write(pax);
    await out.write(padding(pax.length));
  }
  await out.write(header(split?.name ?? entry.path.slice(-100), entry.size, entry.mode, '0', split?.prefix ?? ''));
  let digest: string;
  let written = 0;
  if (entry.size <= SMALL_FILE) {
    // Small files are read synchronously: cheaper than a thread-pool round trip, and the
    // compressor keeps working on the previous batch meanwhile.
    const content = readFileSync(entry.source);
    digest = sha256(content);
    written = content.length;
    await out.write(content);
  } else {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(entry.source, { highWaterMark: SMALL_FILE, signal })) {
      hash.update(chunk as Buffer);
      written += (chunk as Buffer).length;
      await out.write(chunk as Buffer);
    }
    digest = hash.digest('hex');
  }
  if (written !== entry.size) throw new Error(`${entry.path} changed size while it was being packed; pack again`);
  await out.write(padding(entry.size));
  return digest;
}

/**
 * Packs the agent's build context into a deterministic tar.gz (sorted members, fixed mtime,
 * uid/gid 0, modes 644/755, gzip level 6 in 1 MB members), streamed from disk to disk, and computes the
 * `working_tree_hash` in the same read. A failure leaves no partial archive behind.
 */
export async function packContext(manifest: AgentManifest, options: PackOptions = {}): Promise<PackedContext> {
  const entries = await collectContext(manifest, { docker: !options.sdkExact });
  const total = checkSize(manifest, entries, options.maxContextBytes ?? MAX_CONTEXT_BYTES);
  options.signal?.throwIfAborted();

  const tempDir = options.outFile ? undefined : await mkdtemp(path.join(tmpdir(), 'agent-preview-'));
  const archivePath = options.outFile ? path.resolve(options.outFile) : path.join(tempDir!, 'context.tar.gz');
  const file = createWriteStream(archivePath);
  const finished = once(file, 'close');
  const out = new ParallelGzip(file);
  const members: HashedMember[] = [];
  try {
    let read = 0;
    for (const entry of entries) {
      options.signal?.throwIfAborted();
      const digest = await writeMember(out, entry, options.signal);
      members.push({ path: entry.path, mode: treeModeOf(entry), digest });
      read += entry.size;
      options.onProgress?.(read, total);
    }
    await out.write(Buffer.alloc(BLOCK * 2));
    await out.end();
    await finished;
  } catch (err) {
    out.abandon();
    file.destroy();
    await rm(tempDir ?? archivePath, { recursive: true, force: true });
    throw err;
  }
  const archiveBytes = (await stat(archivePath)).size;
  return {
    archivePath,
    archiveBytes,
    treeHash: treeHashFromDigests(members),
    fileCount: entries.length,
    uncompressedBytes: total,
    dispose: async () => {
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}
