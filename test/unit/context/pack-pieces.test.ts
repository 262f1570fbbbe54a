// Files larger than one 1 MB gzip piece: read straight into the pieces, hashed in the same read,
// incompressible ones stored rather than deflated, and the archive still reads back byte for byte.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadManifest } from '../../../src/context/manifest.js';
import { packContext } from '../../../src/context/pack.js';
import { treeHashFromDigests } from '../../../src/context/tree-hash.js';

const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Deterministic bytes deflate cannot shrink (xorshift32). */
function noise(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

it('packs files spanning several pieces byte for byte, stores noise, deflates text, and hashes both', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-pieces-'));
  made.push(root);
  const files: Record<string, Buffer> = {
    Dockerfile: Buffer.from('FROM scratch\nCOPY project /app\n'),
    'project/model.bin': noise(3 * 1024 * 1024 + 123, 0x9e3779b9),
    'project/notes.txt': Buffer.from('the same line of agent notes, over and over\n'.repeat(60_000)),
    'project/small.py': Buffer.from('print("hi")\n'),
    'project/empty': Buffer.alloc(0),
  };
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), bytes);
  }
  await writeFile(path.join(root, 'manifest.yaml'), 'build:\n  context:\n    root: .\n    include_paths: [project]\n    dockerfile: Dockerfile\nagent:\n  name: pieces\n');
  const packed = await packContext(await loadManifest(path.join(root, 'manifest.yaml')));

  const out = path.join(root, 'out');
  await mkdir(out);
  execFileSync('tar', ['-xzf', packed.archivePath, '-C', out]);
  for (const [name, bytes] of Object.entries(files)) expect(Buffer.compare(await readFile(path.join(out, name)), bytes)).toBe(0);

  expect(packed.treeHash).toBe(treeHashFromDigests(Object.entries(files).map(([name, bytes]) => ({ path: name, mode: '100644' as const, digest: sha256(bytes) }))));
  // One gzip member per 1 MB of tar stream: the noise is stored (a little over its size), the text
  // deflated to almost nothing.
  const tarBytes = gunzipSync(await readFile(packed.archivePath));
  expect(packed.archiveBytes).toBeLessThan(files['project/model.bin'].length * 1.001 + 64 * 1024);
  expect(packed.archiveBytes).toBeGreaterThan(files['project/model.bin'].length);
  const blocks = Object.values(files).reduce((sum, bytes) => sum + 1 + Math.ceil(bytes.length / 512), 2);
  expect(tarBytes.length).toBe(blocks * 512);
  await packed.dispose();
});

it('stops when the signal aborts and leaves no archive behind', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-pieces-'));
  made.push(root);
  await mkdir(path.join(root, 'project'));
  await writeFile(path.join(root, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(path.join(root, 'project/model.bin'), noise(2 * 1024 * 1024, 7));
  await writeFile(path.join(root, 'manifest.yaml'), 'build:\n  context:\n    root: .\n    include_paths: [project]\n    dockerfile: Dockerfile\nagent:\n  name: pieces\n');
  const controller = new AbortController();
  const outFile = path.join(root, 'out.tar.gz');
  const packing = packContext(await loadManifest(path.join(root, 'manifest.yaml')), {
    outFile,
    signal: controller.signal,
    onProgress: () => controller.abort(), // after the Dockerfile, before model.bin
  });
  await expect(packing).rejects.toThrow(/abort/i);
  await expect(readFile(outFile)).rejects.toThrow(/ENOENT/);
});
