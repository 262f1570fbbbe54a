import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFileSync } from 'node:fs';
import { compareCodePoints } from './order.js';
import type { ContextEntry } from './types.js';

export type TreeMode = '100644' | '100755' | '120000';

export interface HashedMember {
  path: string;
  mode: TreeMode;
  /** sha256 hex of the content (of the link target string for a symlink). */
  digest: string;
}

/**
 * The Agentex SDK's `working_tree_hash`: sha256 over `path\0mode\0digest` lines, sorted by path in
 * code-point order, joined by `\n` (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:
 * src/agentex/lib/utils/build_provenance.py `working_tree_hash`, `iter_context_files`).
 */
export function treeHashFromDigests(members: HashedMember[]): string {
  const sorted = [...members].sort((a, b) => compareCodePoints(a.path, b.path));
  return createHash('sha256')
    .update(sorted.map((member) => `${member.path}\0${member.mode}\0${member.digest}`).join('\n'), 'utf8')
    .digest('hex');
}

export function treeModeOf(entry: ContextEntry): TreeMode {
  if (entry.type === 'symlink') return '120000';
  return entry.mode & 0o100 ? '100755' : '100644';
}

const SMALL_FILE = 1 << 20;

type OneShotHash = (algorithm: string, data: Buffer, encoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** sha256 hex of a buffer, with Node's one-shot hash where it exists. */
export function sha256(data: Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export async function digestOf(entry: ContextEntry): Promise<string> {
  if (entry.type === 'symlink')
    return createHash('sha256')
      .update(entry.linkTarget ?? '', 'utf8')
      .digest('hex');
  if (entry.size <= SMALL_FILE) return sha256(readFileSync(entry.source));
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(entry.source, { highWaterMark: SMALL_FILE })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Hashes the staged context's members from disk, in order: small files synchronously (as
 * sha256sum does, without a thread-pool round trip each), large ones streamed.
 */
export async function workingTreeHash(entries: ContextEntry[]): Promise<string> {
  const members: HashedMember[] = [];
  for (const entry of entries) members.push({ path: entry.path, mode: treeModeOf(entry), digest: await digestOf(entry) });
  return treeHashFromDigests(members);
}
