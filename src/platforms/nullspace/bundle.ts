import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Json } from '../records.js';

/*
 * What a Nullspace version is made of: "a metadata-only immutable version from a validated bundle
 * manifest and deployment config" (docs.ns.rocks api-reference/agent-deployments/
 * create-an-agent-deployment-version). The fields are the ones the version object carries
 * (docs.ns.rocks .../upload-an-agent-deployment-version-bundle, response): `bundle_manifest`
 * {bundle_digest, config_digest, archive_format: "tar", total_size, file_count, generated_at,
 * materialization_path, entries [{path, included, size, mode, digest}], include_patterns,
 * exclude_patterns, default_exclude_patterns} and `config` {name, template, workdir, install,
 * entrypoint, env {required, optional} (names only), service {port, readiness}}. The Nullspace
 * CLI reads the config from `nullspace.agent.toml` (docs.ns.rocks agents/deployments); an
 * Agentex-style agent has none, so it is derived from the context instead:
 *   - entrypoint: the Dockerfile's ENTRYPOINT and CMD, as the container would run;
 *   - service port: the Dockerfile's EXPOSE, else `--port N` in the entrypoint, else 8000 (the
 *     Agentex ACP server's port);
 *   - install: `python -m pip install -r <requirements.txt>` for the first requirements file in the
 *     bundle (the Dockerfile's RUN lines name image paths, not bundle paths), else none;
 *   - template `base` and workdir `/workspace/project`, the values the Nullspace docs use.
 * ASSUMED: the readiness probe `{type: "tcp"}` (the docs list http, tcp and timeout; an Agentex
 * agent's health route is not fixed), and that the create body carries `bundle_manifest` and
 * `config` under those names, as the version echoes them. A server that wants other fields answers
 * 422, which is reported with its message.
 */

export const WORKDIR = '/workspace/project';
export const DEFAULT_PORT = 8000;

export interface BundleEntry {
  path: string;
  size: number;
  mode: number;
  digest: string;
}

export interface ScannedBundle {
  /** `sha256:<hex>` of the plain tar, as X-Nullspace-Bundle-Digest wants it. */
  digest: string;
  /** Bytes of the plain tar. */
  bytes: number;
  entries: BundleEntry[];
  /** The Dockerfile at the bundle's root, when there is one. */
  dockerfile?: string;
}

/**
 * Reads the packed context (tar.gz) once: the plain tar's digest and size, and each file's path,
 * size, mode and digest. Hand-written because the packer writes plain ustar (with PAX `path`
 * records for long names) by hand too, and the `tar` package is kept out of the action bundle.
 */
export async function scanBundle(archivePath: string): Promise<ScannedBundle> {
  const whole = createHash('sha256');
  let bytes = 0;
  const entries: BundleEntry[] = [];
  let dockerfile: string | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let current: { path: string; size: number; mode: number; left: number; hash: ReturnType<typeof createHash>; keep?: Buffer[]; pax?: Buffer[] } | undefined;
  let skip = 0;
  let paxPath: string | undefined;
  let ended = false;

  const consume = (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (ended) return;
      if (skip > 0) {
        const n = Math.min(skip, pending.length);
        pending = pending.subarray(n);
        skip -= n;
        if (skip > 0) return;
      }
      if (current) {
        const n = Math.min(current.left, pending.length);
        const part = pending.subarray(0, n);
        current.hash.update(part);
        current.keep?.push(Buffer.from(part));
        current.pax?.push(Buffer.from(part));
        pending = pending.subarray(n);
        current.left -= n;
        if (current.left > 0) return;
        if (current.pax) {
          paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.concat(current.pax).toString('utf8'))?.[1];
        } else {
          entries.push({ path: current.path, size: current.size, mode: current.mode, digest: `sha256:${current.hash.digest('hex')}` });
          if (current.keep) dockerfile = Buffer.concat(current.keep).toString('utf8');
        }
        skip = (512 - (current.size % 512)) % 512;
        current = undefined;
        continue;
      }
      if (pending.length < 512) return;
      const block = pending.subarray(0, 512);
      pending = pending.subarray(512);
      if (block.every((byte) => byte === 0)) {
        ended = true;
        return;
      }
      const field = (start: number, length: number) =>
        block
          .subarray(start, start + length)
          .toString('utf8')
          .replace(/\0.*$/s, '');
      const size = Number.parseInt(field(124, 12).trim() || '0', 8);
      const mode = Number.parseInt(field(100, 8).trim() || '0', 8) & 0o7777;
      const type = String.fromCharCode(block[156] || 48);
      const prefix = field(345, 155);
      const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
      if (type === 'x') {
        current = { path: name, size, mode, left: size, hash: createHash('sha256'), pax: [] };
      } else if (type === '0') {
        const path = paxPath ?? name;
        paxPath = undefined;
        current = { path, size, mode, left: size, hash: createHash('sha256'), keep: path === 'Dockerfile' ? [] : undefined };
      } else {
        // Directories and anything else the packer does not write: skipped with their data.
        paxPath = undefined;
        skip = Math.ceil(size / 512) * 512;
      }
      if (current && current.left === 0) continue;
    }
  };

  await pipeline(
    createReadStream(archivePath),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        whole.update(chunk);
        bytes += chunk.length;
        consume(chunk);
        done();
      },
    }),
  );
  return { digest: `sha256:${whole.digest('hex')}`, bytes, entries, dockerfile };
}

/** The deployment config for an Agentex-style agent, from its Dockerfile and files (see above). */
export function deploymentConfig(name: string, bundle: ScannedBundle): Json {
  const instructions = dockerInstructions(bundle.dockerfile ?? '');
  const command = [commandText(instructions.get('ENTRYPOINT')), commandText(instructions.get('CMD'))].filter(Boolean).join(' ');
  const entrypoint = command || `uvicorn project.acp:acp --host 0.0.0.0 --port ${DEFAULT_PORT}`;
  const exposed = Number.parseInt((instructions.get('EXPOSE') ?? '').trim().split(/[\s/]/)[0] ?? '', 10);
  const flagged = Number.parseInt(/--port[ =](\d+)/.exec(entrypoint)?.[1] ?? '', 10);
  const port = [exposed, flagged].find((value) => Number.isInteger(value) && value >= 1 && value <= 65535) ?? DEFAULT_PORT;
  const requirements = bundle.entries
    .map((entry) => entry.path)
    .filter((path) => /(^|\/)requirements\.txt$/.test(path))
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))[0];
  const config: Json = {
    name,
    template: 'base',
    workdir: WORKDIR,
    entrypoint,
    env: { required: [], optional: [] },
    service: { port, readiness: { type: 'tcp' } },
  };
  if (requirements) config.install = `python -m pip install -r ${shellQuote(requirements)}`;
  return config;
}

export function bundleManifest(bundle: ScannedBundle, config: Json, generatedAt: Date): Json {
  return {
    bundle_digest: bundle.digest,
    config_digest: `sha256:${createHash('sha256').update(canonicalJson(config)).digest('hex')}`,
    archive_format: 'tar',
    total_size: bundle.entries.reduce((sum, entry) => sum + entry.size, 0),
    file_count: bundle.entries.length,
    generated_at: generatedAt.toISOString(),
    materialization_path: WORKDIR,
    entries: bundle.entries.map((entry) => ({ path: entry.path, included: true, size: entry.size, mode: entry.mode, digest: entry.digest })),
    // The packer already applied the manifest's include paths and .dockerignore.
    include_patterns: ['**'],
    exclude_patterns: [],
    default_exclude_patterns: [],
  };
}

/** The last value of each instruction, continuation lines joined. */
function dockerInstructions(text: string): Map<string, string> {
  const found = new Map<string, string>();
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of lines) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match && !line.trim().startsWith('#')) found.set(match[1].toUpperCase(), match[2].trim());
  }
  return found;
}

/** A command line from the exec form (`["a", "b"]`, quoted as needed) or the shell form (as written). */
function commandText(value: string | undefined): string {
  if (!value) return '';
  if (value.startsWith('[')) {
    try {
      const parsed = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((part) => typeof part === 'string')) return parsed.map(shellQuote).join(' ');
    } catch {
      // not JSON: shell form
    }
  }
  return value;
}

function shellQuote(part: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Json)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
