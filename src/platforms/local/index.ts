import busboy from 'busboy';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { t as listTar } from 'tar';
import { FaultSwitch, parseFaultRule, type FaultRule, type RouteId } from './faults.js';
import { renderPreviewPage } from './page.js';
import { ClientError, PlatformState, type BuildRecord, type DeploymentRecord } from './state.js';

export { ROUTE_IDS, type FaultRule, type RouteId } from './faults.js';
export { CRASH_MARKER, FAIL_BUILD_MARKER, type BuildRecord, type DeploymentRecord } from './state.js';

export interface LocalPlatformOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, requests must carry this `x-api-key`. */
  apiKey?: string;
  accountId?: string;
  /** Time per build status step (log lines come four times as fast). */
  buildStepMs?: number;
  /** Time per deployment status step. */
  deployStepMs?: number;
  /** Answer builds in the older `{build_id, status}` shape. */
  legacyBuildShape?: boolean;
  /** `strict`: agent_name creates an agent and is refused once it exists (newer API). `legacy`: accepted every time. */
  agentNames?: 'strict' | 'legacy';
  maxArchiveBytes?: number;
  log?: (line: string) => void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  route?: RouteId;
  status: number;
  /** ms since the epoch, when the request arrived. */
  at: number;
}

export interface LocalPlatform {
  url: string;
  port: number;
  faults: { add(rule: FaultRule): void; clear(): void; readonly rules: FaultRule[] };
  requests: RecordedRequest[];
  builds(): BuildRecord[];
  deployments(): DeploymentRecord[];
  close(): Promise<void>;
}

const MAX_ARCHIVE_BYTES = 500 * 1024 * 1024;
const MAX_JSON_BYTES = 5 * 1024 * 1024;

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Route {
  id: RouteId;
  method: string;
  pattern: RegExp;
}

const ROUTES: Route[] = [
  { id: 'builds.undeployed', method: 'GET', pattern: /^\/v5\/builds\/undeployed$/ },
  { id: 'builds.create', method: 'POST', pattern: /^\/v5\/builds$/ },
  { id: 'builds.list', method: 'GET', pattern: /^\/v5\/builds$/ },
  { id: 'builds.cancel', method: 'POST', pattern: /^\/v5\/builds\/([^/]+)\/cancel$/ },
  { id: 'builds.logs', method: 'GET', pattern: /^\/v5\/builds\/([^/]+)\/logs$/ },
  { id: 'builds.get', method: 'GET', pattern: /^\/v5\/builds\/([^/]+)$/ },
  { id: 'deployments.create', method: 'POST', pattern: /^\/v5\/agentex\/deployments$/ },
  { id: 'deployments.list', method: 'GET', pattern: /^\/v5\/agentex\/deployments$/ },
  { id: 'deployments.logs', method: 'GET', pattern: /^\/v5\/agentex\/deployments\/([^/]+)\/logs$/ },
  { id: 'deployments.get', method: 'GET', pattern: /^\/v5\/agentex\/deployments\/([^/]+)$/ },
  { id: 'deployments.delete', method: 'DELETE', pattern: /^\/v5\/agentex\/deployments\/([^/]+)$/ },
  { id: 'preview.page', method: 'GET', pattern: /^\/previews\/([^/]+)\/?$/ },
];

/** Starts the Agentex-compatible local platform: a real HTTP server with in-memory state. */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const faults = new FaultSwitch();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();
  let baseUrl = '';
  const state = new PlatformState(
    options.accountId ?? 'acct-local',
    { buildStepMs: options.buildStepMs ?? 400, deployStepMs: options.deployStepMs ?? 400 },
    () => baseUrl,
  );
  const maxArchiveBytes = options.maxArchiveBytes ?? MAX_ARCHIVE_BYTES;
  const log = options.log ?? (() => {});

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, at: Date.now() };
    requests.push(record);
    res.on('finish', () => log(`${record.method} ${record.path} → ${record.status || res.statusCode}`));
    handle(req, res, url, record).catch((err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof ClientError ? err.status : 500;
      if (status === 500) log(`error: ${(err as Error).stack ?? err}`);
      send(res, record, { status, body: { detail: (err as Error).message } });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    state.expirePreviews();
    if (url.pathname.startsWith('/_local/')) return control(req, res, url, record);
    const route = ROUTES.find((candidate) => candidate.method === req.method && candidate.pattern.test(url.pathname));
    if (!route) {
      req.resume();
      return send(res, record, { status: 404, body: { detail: `no route ${req.method} ${url.pathname}` } });
    }
    record.route = route.id;
    const param = decodeURIComponent(route.pattern.exec(url.pathname)?.[1] ?? '');
    if (route.id !== 'preview.page' && options.apiKey && req.headers['x-api-key'] !== options.apiKey) {
      req.resume();
      return send(res, record, { status: 401, body: { detail: 'invalid or missing x-api-key' } });
    }

    const fault = faults.take(route.id);
    if (fault?.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (fault?.resetConnection) {
      if (route.id === 'builds.create') {
        req.once('data', () => req.socket.destroy());
        req.resume();
      } else req.socket.destroy();
      record.status = -1;
      return;
    }
    if (fault?.status && !fault.afterHandling) {
      req.resume();
      return send(res, record, faultReply(fault));
    }

    if (route.id === 'builds.logs') return streamBuildLog(req, res, param, record, fault?.dropStreamAfterLines);
    if (route.id === 'preview.page') return servePreview(res, param, record);
    const reply = await answer(route.id, req, url, param);
    if (fault?.status && fault.afterHandling) return send(res, record, faultReply(fault));
    return send(res, record, reply);
  }

  async function answer(route: RouteId, req: IncomingMessage, url: URL, param: string): Promise<Reply> {
    const query = url.searchParams;
    switch (route) {
      case 'builds.create':
        return { status: 201, body: shapeBuild(await receiveBuild(req)) };
      case 'builds.list': {
        const items = [...state.builds.values()].filter(
          (build) =>
            matches(query.get('agent_name'), build.agent_name) &&
            matches(query.get('agent_id'), build.agent_id) &&
            matches(query.get('working_tree_hash'), build.working_tree_hash) &&
            matches(query.get('source_commit'), build.source_commit) &&
            matches(query.get('build_status')?.toUpperCase(), build.build_status),
        );
        return { status: 200, body: page(items, query, shapeBuild) };
      }
      case 'builds.get':
        return { status: 200, body: shapeBuild(state.requireBuild(param)) };
      case 'builds.cancel':
        return { status: 202, body: shapeBuild(state.cancelBuild(param)) };
      case 'builds.undeployed': {
        // Agents with a successful build and no healthy deployment, as the overview doc describes the route.
        const deployed = new Set([...state.deployments.values()].filter((deployment) => deployment.status === 'HEALTHY').map((deployment) => deployment.agent_name));
        const byAgent = new Map<string, BuildRecord[]>();
        for (const build of state.builds.values()) byAgent.set(build.agent_name, [...(byAgent.get(build.agent_name) ?? []), build]);
        const rows = [...byAgent.entries()].flatMap(([agent, builds]) => {
          const latestSuccess = builds.filter((build) => build.build_status === 'SUCCESS').at(-1);
          if (!latestSuccess || deployed.has(agent)) return [];
          return [{ agent_name: agent, latest_build: shapeBuild(latestSuccess), total_builds: builds.length }];
        });
        return { status: 200, body: rows };
      }
      case 'deployments.create':
        return { status: 201, body: state.createDeployment(await readJson(req)) };
      case 'deployments.list': {
        state.expirePreviews();
        const preview = query.get('is_preview') ?? query.get('preview');
        const items = [...state.deployments.values()].filter(
          (deployment) =>
            matches(query.get('preview_label'), deployment.preview_label) &&
            matches(query.get('agent_name'), deployment.agent_name) &&
            matches(query.get('agent_id'), deployment.agent_id) &&
            matches(query.get('build_id'), deployment.build_id) &&
            matches(query.get('status')?.toUpperCase(), deployment.status) &&
            (preview === null || String(deployment.preview) === preview),
        );
        return { status: 200, body: page(items, query, (deployment) => deployment) };
      }
      case 'deployments.get':
        return { status: 200, body: state.requireDeployment(param) };
      case 'deployments.delete':
        return { status: 200, body: state.deleteDeployment(param) };
      case 'deployments.logs': {
        const lines = state.logsOf(param);
        const limit = clampLimit(query.get('limit'), 100, 500);
        const start = Number.parseInt(query.get('cursor') ?? '0', 10) || 0;
        const slice = lines.slice(start, start + limit);
        const more = start + limit < lines.length;
        return { status: 200, body: { deployment_id: param, lines: slice, next_cursor: more ? String(start + limit) : null, has_more: more } };
      }
      default:
        throw new ClientError(404, 'no such route');
    }
  }

  function shapeBuild(build: BuildRecord): unknown {
    if (!options.legacyBuildShape) return build;
    const { id, build_status, ...rest } = build;
    return { ...rest, build_id: id, status: build_status };
  }

  async function receiveBuild(req: IncomingMessage): Promise<BuildRecord> {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) {
      req.resume();
      throw new ClientError(415, 'POST /v5/builds takes multipart/form-data');
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'ap-local-upload-'));
    try {
      const archive = path.join(dir, 'context.tar.gz');
      const { fields, bytes, gzipped } = await receiveMultipart(req, archive);
      if (bytes < 0) throw new ClientError(400, 'context_archive is required (a tar.gz file part)');
      if (bytes === 0) throw new ClientError(400, 'context_archive is empty');
      if (!gzipped) throw new ClientError(400, 'context_archive is not gzip-compressed; send a tar.gz');
      const imageName = fields.image_name;
      if (!imageName) throw new ClientError(400, 'image_name is required');
      let buildArgs: Record<string, string> | undefined;
      if (fields.build_args) {
        try {
          const parsed = JSON.parse(fields.build_args) as unknown;
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          buildArgs = parsed as Record<string, string>;
        } catch {
          throw new ClientError(400, 'build_args must be a JSON object string, e.g. {"PY_VERSION": "3.12"}');
        }
      }
      if (fields.platform && !['linux/amd64', 'linux/arm64', 'linux/arm/v7'].includes(fields.platform)) {
        throw new ClientError(422, `platform "${fields.platform}" is not linux/amd64, linux/arm64 or linux/arm/v7`);
      }
      const dockerfile = await dockerfileAtRoot(archive);
      const agent = state.resolveAgent(fields, (options.agentNames ?? 'strict') === 'strict');
      // A copy: the record moves on its timers while the temp folder is removed, and the answer is the build as created.
      return structuredClone(state.createBuild(
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
      ));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Streams the upload to disk, counting bytes; over the limit answers 413 at once. */
  function receiveMultipart(req: IncomingMessage, archive: string): Promise<{ fields: Record<string, string>; bytes: number; gzipped: boolean }> {
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

  async function dockerfileAtRoot(archive: string): Promise<string> {
    let dockerfile: string | undefined;
    let sawEntry = false;
    try {
      await listTar({
        file: archive,
        onReadEntry: (entry) => {
          sawEntry = true;
          if (entry.path === 'Dockerfile' || entry.path === './Dockerfile') {
            const chunks: Buffer[] = [];
            entry.on('data', (chunk: Buffer) => chunks.push(chunk));
            entry.on('end', () => (dockerfile = Buffer.concat(chunks).toString('utf8')));
          }
        },
        strict: true,
      });
    } catch (err) {
      throw new ClientError(400, `context_archive is not a readable tar.gz: ${(err as Error).message}`);
    }
    if (!sawEntry) throw new ClientError(400, 'context_archive is not a tar.gz archive or is empty');
    if (dockerfile === undefined) throw new ClientError(400, 'context_archive has no Dockerfile at its root; the Dockerfile must be at the archive root');
    return dockerfile;
  }

  async function streamBuildLog(req: IncomingMessage, res: ServerResponse, buildId: string, record: RecordedRequest, dropAfter?: number): Promise<void> {
    const log = state.buildLog(buildId);
    const lastId = Number.parseInt(String(req.headers['last-event-id'] ?? ''), 10);
    let next = Number.isInteger(lastId) && lastId > 0 ? lastId : 0;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    streams.add(res);
    let sent = 0;
    const flush = () => {
      while (next < log.lines.length) {
        const line = log.lines[next];
        next++;
        const event = `id: ${next}\ndata: ${JSON.stringify({ line })}\n\n`;
        sent++;
        if (dropAfter !== undefined && sent >= dropAfter) {
          // Destroying at once would discard what is still buffered; the drop comes after the last event is out.
          res.write(event, () => res.destroy());
          return false;
        }
        res.write(event);
      }
      return true;
    };
    const finish = () => {
      cleanup();
      if (flush()) res.end();
    };
    const onLine = () => {
      if (!flush()) cleanup();
    };
    const cleanup = () => {
      log.events.off('line', onLine);
      log.events.off('end', finish);
      streams.delete(res);
    };
    res.on('close', cleanup);
    if (!flush()) return cleanup();
    if (log.finished()) return finish();
    log.events.on('line', onLine);
    log.events.on('end', finish);
  }

  function servePreview(res: ServerResponse, release: string, record: RecordedRequest): void {
    const deployment = state.byRelease(release);
    const page = renderPreviewPage(deployment, deployment?.build_id ? state.builds.get(deployment.build_id) : undefined);
    record.status = page.status;
    res.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page.html);
  }

  async function control(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    if (url.pathname === '/_local/faults' && req.method === 'POST') {
      try {
        const rule = parseFaultRule(await readJson(req));
        faults.add(rule);
        return send(res, record, { status: 201, body: { rules: faults.rules } });
      } catch (err) {
        return send(res, record, { status: 400, body: { detail: (err as Error).message } });
      }
    }
    if (url.pathname === '/_local/faults' && req.method === 'DELETE') {
      faults.clear();
      return send(res, record, { status: 200, body: { rules: [] } });
    }
    if (url.pathname === '/_local/state' && req.method === 'GET') {
      state.expirePreviews();
      return send(res, record, {
        status: 200,
        body: {
          builds: [...state.builds.values()].map((build) => ({ id: build.id, agent_name: build.agent_name, build_status: build.build_status, working_tree_hash: build.working_tree_hash })),
          deployments: [...state.deployments.values()].map((deployment) => ({
            id: deployment.id,
            agent_name: deployment.agent_name,
            status: deployment.status,
            preview_label: deployment.preview_label,
            url: deployment.url,
          })),
          faults: faults.rules,
        },
      });
    }
    req.resume();
    return send(res, record, { status: 404, body: { detail: `no control route ${req.method} ${url.pathname}` } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url: baseUrl,
    port: address.port,
    faults: {
      add: (rule) => faults.add(rule),
      clear: () => faults.clear(),
      get rules() {
        return faults.rules;
      },
    },
    requests,
    builds: () => [...state.builds.values()],
    deployments: () => {
      state.expirePreviews();
      return [...state.deployments.values()];
    },
    close: async () => {
      state.close();
      for (const stream of streams) stream.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function send(res: ServerResponse, record: RecordedRequest, reply: Reply): void {
  record.status = reply.status;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...reply.headers });
  res.end(body);
}

function faultReply(fault: FaultRule): Reply {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  const detail = status === 429 ? 'rate limit exceeded' : status >= 500 ? 'upstream unavailable (injected fault)' : 'injected fault';
  return { status, body: { detail }, headers };
}

function matches(wanted: string | null | undefined, actual: string | undefined): boolean {
  return wanted === null || wanted === undefined || wanted === '' || wanted === actual;
}

function clampLimit(text: string | null, fallback: number, max: number): number {
  const value = Number.parseInt(text ?? '', 10);
  if (!Number.isInteger(value) || value < 1) return fallback;
  return Math.min(value, max);
}

/**
 * A cursor page as the v5 API gives it: newest first unless `sort_order=asc`. `starting_after` (or
 * its alias `cursor`, which `next_cursor` feeds) and `ending_before` take an item id; an unknown
 * id is a 400 rather than a silent restart from the top.
 */
function page<T extends { id: string; created_at: string }>(items: T[], query: URLSearchParams, shape: (item: T) => unknown) {
  const ascending = query.get('sort_order') === 'asc';
  // Records are kept in creation order, so that order breaks ties between equal timestamps.
  const sorted = ascending ? [...items] : [...items].reverse();
  const limit = clampLimit(query.get('limit'), 50, 100);
  const positionOf = (name: string): number | undefined => {
    const cursor = query.get(name);
    if (!cursor) return undefined;
    const index = sorted.findIndex((item) => item.id === cursor);
    if (index === -1) throw new ClientError(400, `${name} "${cursor}" is not an item of this list`);
    return index;
  };
  const after = positionOf('starting_after') ?? positionOf('cursor');
  const before = positionOf('ending_before');
  let start = after === undefined ? 0 : after + 1;
  let end = Math.min(sorted.length, start + limit);
  if (before !== undefined) {
    end = Math.min(end, before);
    if (after === undefined) start = Math.max(0, before - limit);
  }
  const slice = sorted.slice(start, Math.max(start, end));
  const hasMore = before !== undefined && after === undefined ? start > 0 : end < sorted.length;
  return {
    object: 'list',
    items: slice.map(shape),
    has_more: hasMore,
    next_cursor: hasMore && slice.length ? slice[slice.length - 1].id : null,
    total: sorted.length,
    limit,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
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

