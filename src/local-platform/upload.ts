import busboy from 'busboy';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { t as listTar } from 'tar';
import { directivesInCode, type AgentDirective } from './agent.js';
import { ClientError, type BuildRecord, type PlatformState } from './state.js';

// busboy and tar are the local platform's own dependencies: only this file imports them, and
// the build (scripts/bundle-boundaries.mjs) fails if they reach the action or app bundles.

export interface UploadLimits {
  maxArchiveBytes: number;
  /** `strict`: agent_name creates an agent and is refused once it exists (newer API). */
  strictAgentNames: boolean;
}

const BUILD_PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'];

/** `POST /v5/builds`: a multipart upload of the context archive and its fields, checked as the API checks them. */
export async function receiveBuild(req: IncomingMessage, state: PlatformState, limits: UploadLimits): Promise<BuildRecord> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) {
    req.resume();
    throw new ClientError(415, 'POST /v5/builds takes multipart/form-data');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-local-upload-'));
  try {
    const archive = path.join(dir, 'context.tar.gz');
    const { fields, bytes, gzipped } = await receiveMultipart(req, archive, limits.maxArchiveBytes);
    if (bytes < 0) throw new ClientError(400, 'context_archive is required (a tar.gz file part)');
    if (bytes === 0) throw new ClientError(400, 'context_archive is empty');
    if (!gzipped) throw new ClientError(400, 'context_archive is not gzip-compressed; send a tar.gz');
    const imageName = fields.image_name;
    if (!imageName) throw new ClientError(400, 'image_name is required');
    const buildArgs = fields.build_args ? parseBuildArgsField(fields.build_args) : undefined;
    if (fields.platform && !BUILD_PLATFORMS.includes(fields.platform)) {
      throw new ClientError(422, `platform "${fields.platform}" is not linux/amd64, linux/arm64 or linux/arm/v7`);
    }
    const { dockerfile, agentDirectives } = await readContext(archive);
    const agent = state.resolveAgent(fields, limits.strictAgentNames);
    // A copy: the record moves on its timers while the temp folder is removed, and the answer is the build as created.
    return structuredClone(
      state.createBuild(
        {
          agent_id: agent.agentId,
          agent_name: agent.agentName,
          image_name: imageName,
          image_tag: fields.image_tag || 'latest',
          platform: fields.platform,
          build_args: buildArgs,
          working_tree_hash: fields.working_tree_hash,
          source_commit: fields.source_commit,
          source_dirty: fields.source_dirty === undefined ? undefined : fields.source_dirty === 'true',
          source_ref: fields.source_ref,
          source_repo: fields.source_repo,
          source_subpath: fields.source_subpath,
          archive_bytes: bytes,
        },
        dockerfile,
        agentDirectives,
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseBuildArgsField(text: string): Record<string, string> {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, string>;
  } catch {
    throw new ClientError(400, 'build_args must be a JSON object string, e.g. {"PY_VERSION": "3.12"}');
  }
}

/** Streams the upload to disk, counting bytes; over the limit answers 413 at once. */
function receiveMultipart(req: IncomingMessage, archive: string, maxArchiveBytes: number): Promise<{ fields: Record<string, string>; bytes: number; gzipped: boolean }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let bytes = -1;
    let head = Buffer.alloc(0);
    let fileDone: Promise<unknown> = Promise.resolve();
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxArchiveBytes + 1, fields: 50, fieldSize: 1024 * 1024 } });
    } catch (err) {
      reject(new ClientError(400, `bad multipart body: ${(err as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream) => {
      if (name !== 'context_archive') {
        stream.resume();
        return;
      }
      bytes = 0;
      const out = createWriteStream(archive);
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 2) head = Buffer.concat([head, chunk.subarray(0, 2)]);
        bytes += chunk.length;
      });
      stream.on('limit', () => {
        stream.unpipe(out);
        stream.resume();
        reject(new ClientError(413, `context_archive is over the ${Math.round(maxArchiveBytes / 1024 / 1024)} MB limit`));
      });
      stream.pipe(out);
      fileDone = once(out, 'close');
    });
    parser.on('error', (err) => reject(new ClientError(400, `bad multipart body: ${(err as Error).message}`)));
    parser.on('close', () => {
      fileDone.then(() => resolve({ fields, bytes, gzipped: head[0] === 0x1f && head[1] === 0x8b }), reject);
    });
    req.on('aborted', () => reject(new ClientError(400, 'upload aborted')));
    req.pipe(parser);
  });
}

/** Files larger than this are not searched for the local agent's directives. */
const MAX_DIRECTIVE_FILE_BYTES = 1024 * 1024;

/** The Dockerfile at the archive root, and the local agent's directive lines from every file (in archive order). */
async function readContext(archive: string): Promise<{ dockerfile: string; agentDirectives: AgentDirective[] }> {
  let dockerfile: string | undefined;
  let sawEntry = false;
  const agentDirectives: AgentDirective[] = [];
  try {
    await listTar({
      file: archive,
      onReadEntry: (entry) => {
        sawEntry = true;
        const isDockerfile = entry.path === 'Dockerfile' || entry.path === './Dockerfile';
        if (!isDockerfile && (entry.type !== 'File' || entry.size > MAX_DIRECTIVE_FILE_BYTES)) return;
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (isDockerfile) dockerfile = text;
          if (text.includes('local-platform:')) agentDirectives.push(...directivesInCode(text));
        });
      },
      strict: true,
    });
  } catch (err) {
    throw new ClientError(400, `context_archive is not a readable tar.gz: ${(err as Error).message}`);
  }
  if (!sawEntry) throw new ClientError(400, 'context_archive is not a tar.gz archive or is empty');
  if (dockerfile === undefined) throw new ClientError(400, 'context_archive has no Dockerfile at its root; the Dockerfile must be at the archive root');
  return { dockerfile, agentDirectives };
}
