import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync, writevSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateRawSync, gzip } from 'node:zlib';
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
const PIECE_BYTES = 1 << 20;
/** A piece whose bytes come at least this much from incompressible files is stored, not deflated. */
const STORE_SHARE = 0.99;
const SAMPLE_FROM = 256 * 1024;
const SAMPLE_BYTES = 4096;
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
   * Defaults to the manifest's `build.sdkExact` (set when it was loaded).
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

function paddingOf(size: number): number {
  const rest = size % BLOCK;
  return rest ? BLOCK - rest : 0;
}

/**
 * Compresses the tar stream in fixed 1 MB pieces side by side on libuv's thread pool, each its own
 * gzip member (RFC 1952 allows a series; gunzip, Python, Go and Docker read them as one stream),
 * written in order. Files are read straight into the piece being filled (no per-file Buffers, no
 * concatenation); a filled piece goes to zlib as it is, and its Buffer is reused once compressed.
 * Fixed piece boundaries and a content-only choice of level keep the output deterministic.
 *
 * Hand-written because no npm package does ordered, bounded, parallel gzip members over Node's own
 * zlib (pigz's approach) without a native addon.
 */
class PieceWriter {
  piece: Buffer;
  fill = 0;
  /** Bytes of the current piece that come from files deflate cannot shrink (see `incompressible`). */
  storedBytes = 0;
  private readonly spare: Buffer[] = [];
  private readonly inFlight: { input: Buffer; output: Promise<Buffer | Buffer[]> }[] = [];

  constructor(
    private readonly fd: number,
    private readonly depth: number,
  ) {
    this.piece = Buffer.allocUnsafe(PIECE_BYTES);
  }

  get room(): number {
    return PIECE_BYTES - this.fill;
  }

  /** True when enough pieces are being compressed that the caller should wait for the oldest. */
  get backlogged(): boolean {
    return this.inFlight.length >= this.depth;
  }

  /** Copies small framing bytes (headers, PAX records) in. */
  put(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const length = Math.min(this.room, bytes.length - offset);
      bytes.copy(this.piece, this.fill, offset, offset + length);
      offset += length;
      this.advance(length, false);
    }
  }

  zeros(count: number): void {
    while (count > 0) {
      const length = Math.min(this.room, count);
      this.piece.fill(0, this.fill, this.fill + length);
      count -= length;
      this.advance(length, false);
    }
  }

  /** Marks `length` bytes written at `fill` (by a read straight into `piece`). */
  advance(length: number, stored: boolean): void {
    this.fill += length;
    if (stored) this.storedBytes += length;
    if (this.fill === PIECE_BYTES) this.submit();
  }

  private submit(): void {
    if (!this.fill) return;
    const input = this.piece;
    const data = input.subarray(0, this.fill);
    let output: Promise<Buffer | Buffer[]>;
    if (this.storedBytes >= this.fill * STORE_SHARE) {
      // A piece (almost) all from incompressible files is stored: deflate at level 6 would spend
      // ~40 ms per MB to emit the same bytes in stored blocks, slightly larger.
      output = Promise.resolve(storedMember(data));
    } else {
      // One trip to the pool for most pieces (deflated text is a fraction of a megabyte).
      output = gzipAsync(data, { level: 6, chunkSize: 256 * 1024 });
      output.catch(() => {}); // observed by drainOne; this keeps an abandoned piece's failure quiet
    }
    this.inFlight.push({ input, output });
    this.piece = this.spare.pop() ?? Buffer.allocUnsafe(PIECE_BYTES);
    this.fill = 0;
    this.storedBytes = 0;
  }

  /** Waits for the oldest piece, writes it, and reuses its Buffer. */
  async drainOne(): Promise<void> {
    const oldest = this.inFlight.shift()!;
    const compressed = await oldest.output;
    writeAll(this.fd, Array.isArray(compressed) ? compressed : [compressed]);
    this.spare.push(oldest.input);
  }

  async settle(): Promise<void> {
    while (this.backlogged) await this.drainOne();
  }

  async end(): Promise<void> {
    this.submit();
    while (this.inFlight.length) await this.drainOne();
  }

  abandon(): void {
    // In-flight pieces settle unobserved; their output goes with the file.
    this.inFlight.splice(0);
  }
}

function writeAll(fd: number, parts: Buffer[]): void {
  let rest = parts;
  while (rest.length) {
    let written = writevSync(fd, rest);
    let done = 0;
    while (done < rest.length && written >= rest[done].length) written -= rest[done++].length;
    rest = rest.slice(done);
    if (written > 0) rest[0] = rest[0].subarray(written);
  }
}

// RFC 1952 member header: ID1 ID2, CM 8 (deflate), no flags, MTIME 0, XFL 0, OS 3 (Unix), as zlib writes it on Linux.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
const STORED_BLOCK = 65_535;

/**
 * A gzip member holding `data` in RFC 1951 stored blocks (BTYPE 00: a byte with BFINAL, LEN, ~LEN,
 * then the bytes as they are), with its CRC-32 and size: what zlib writes at level 0, built here so
 * a stored piece needs no copy, no allocation of its size and no trip to the thread pool.
 */
function storedMember(data: Buffer): Buffer[] {
  const parts: Buffer[] = [GZIP_HEADER];
  for (let at = 0; at < data.length; at += STORED_BLOCK) {
    const length = Math.min(STORED_BLOCK, data.length - at);
    const block = Buffer.allocUnsafe(5);
    block[0] = at + length >= data.length ? 1 : 0;
    block.writeUInt16LE(length, 1);
    block.writeUInt16LE(0xffff - length, 3);
    parts.push(block, data.subarray(at, at + length));
  }
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  parts.push(trailer);
  return parts;
}

/**
 * Whether deflate cannot shrink a large file (compressed media, archives, random weights): three 4 KB
 * windows (start, middle, end) deflated at level 1 stay at 98 % of their size or more. Only files of
 * 256 KB and more are sampled; everything else is deflated.
 */
function incompressible(fd: number, size: number, scratch: Buffer): boolean {
  if (size < SAMPLE_FROM) return false;
  let sampled = 0;
  let compressed = 0;
  for (const at of [0, Math.floor(size / 2), size - SAMPLE_BYTES]) {
    const read = readSync(fd, scratch, 0, SAMPLE_BYTES, at);
    sampled += read;
    compressed += deflateRawSync(scratch.subarray(0, read), { level: 1 }).length;
  }
  return compressed >= sampled * 0.98;
}

/** Writes one member straight from disk into the pieces; returns its content digest, from the same read. */
async function writeMember(out: PieceWriter, entry: ContextEntry, scratch: Buffer, signal?: AbortSignal): Promise<string> {
  const split = splitName(entry.path);
  if (!split) {
    const pax = Buffer.from(paxRecord('path', entry.path), 'utf8');
    out.put(header(`PaxHeader/${entry.path.slice(-80)}`.slice(0, 100), pax.length, 0o644, 'x'));
    out.put(pax);
    out.zeros(paddingOf(pax.length));
  }
  out.put(header(split?.name ?? entry.path.slice(-100), entry.size, entry.mode, '0', split?.prefix ?? ''));
  const fd = openSync(entry.source, 'r');
  try {
    const stored = incompressible(fd, entry.size, scratch);
    let digest: string | undefined;
    let hash: Hash | undefined;
    let remaining = entry.size;
    while (remaining > 0) {
      if (out.backlogged) {
        await out.settle();
        signal?.throwIfAborted();
      }
      const at = out.fill;
      const read = readSync(fd, out.piece, at, Math.min(out.room, remaining), null);
      if (read === 0) break;
      const bytes = out.piece.subarray(at, at + read);
      if (read === entry.size)
        digest = sha256(bytes); // the whole file in one read: one-shot hash
      else (hash ??= createHash('sha256')).update(bytes);
      remaining -= read;
      out.advance(read, stored);
    }
    if (remaining > 0 || readSync(fd, scratch, 0, 1, null) > 0) throw new Error(`${entry.path} changed size while it was being packed; pack again`);
    out.zeros(paddingOf(entry.size));
    return digest ?? (hash ?? createHash('sha256')).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * The real path the archive will have (the file's own when it exists), so that it can be left out
 * of the context. A folder that does not exist is a one-line error naming the path, before anything is read.
 */
function archiveTarget(file: string): string {
  const dir = path.dirname(file);
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    throw new InputError(`cannot write ${file}: the folder ${dir} does not exist`);
  }
  if (!statSync(realDir).isDirectory()) throw new InputError(`cannot write ${file}: ${dir} is not a folder`);
  const existing = statSync(file, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new InputError(`cannot write ${file}: it is a folder`);
  return existing ? realpathSync(file) : path.join(realDir, path.basename(file));
}

function openArchive(file: string): number {
  try {
    return openSync(file, 'w');
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'the file system is read-only' : message;
    throw new InputError(`cannot write ${file}: ${reason}`);
  }
}

/**
 * Packs the agent's build context into a deterministic tar.gz (sorted members, fixed mtime,
 * uid/gid 0, modes 644/755, gzip level 6 in 1 MB members), streamed from disk to disk, and computes the
 * `working_tree_hash` in the same read. A failure leaves no partial archive behind.
 */
export async function packContext(manifest: AgentManifest, options: PackOptions = {}): Promise<PackedContext> {
  const target = options.outFile ? archiveTarget(path.resolve(options.outFile)) : undefined;
  const leftOut: string[] = [];
  const entries = await collectContext(manifest, {
    docker: !(options.sdkExact ?? manifest.build.sdkExact),
    // An archive written inside an include path would otherwise be packed by the next pack.
    exclude: target ? new Set([target]) : undefined,
    onExcluded: (archivePath) => leftOut.push(archivePath),
  });
  const total = checkSize(manifest, entries, options.maxContextBytes ?? MAX_CONTEXT_BYTES);
  options.signal?.throwIfAborted();

  const tempDir = options.outFile ? undefined : await mkdtemp(path.join(tmpdir(), 'agent-preview-'));
  const archivePath = options.outFile ? path.resolve(options.outFile) : path.join(tempDir!, 'context.tar.gz');
  const fd = openArchive(archivePath);
  // Pieces compressing at once: one per core, plus two queued so no pool thread waits on the reader
  // (libuv's pool has 4 threads).
  const out = new PieceWriter(fd, Math.min(4, availableParallelism() + 2));
  const scratch = Buffer.allocUnsafe(SAMPLE_BYTES);
  const members: HashedMember[] = [];
  try {
    let read = 0;
    for (const entry of entries) {
      options.signal?.throwIfAborted();
      const digest = await writeMember(out, entry, scratch, options.signal);
      members.push({ path: entry.path, mode: treeModeOf(entry), digest });
      read += entry.size;
      options.onProgress?.(read, total);
      if (out.backlogged) await out.settle();
    }
    out.zeros(BLOCK * 2);
    await out.end();
  } catch (err) {
    out.abandon();
    closeSync(fd);
    await rm(tempDir ?? archivePath, { recursive: true, force: true });
    throw err;
  }
  const archiveBytes = fstatSync(fd).size;
  closeSync(fd);
  return {
    archivePath,
    archiveBytes,
    treeHash: treeHashFromDigests(members),
    fileCount: entries.length,
    uncompressedBytes: total,
    leftOut,
    dispose: async () => {
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}
