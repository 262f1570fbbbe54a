import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AGENT_SERVER_ROUTES, AgentServer } from './agent-server.js';
import { systemClock, type Clock } from './clock.js';
import { control } from './control.js';
import { streamBuildLog } from './build-log.js';
import { faultReply, FaultSwitch, type FaultRule } from './faults.js';
import { send, type RecordedRequest } from './http.js';
import { renderPreviewPage } from './page.js';
import { answer, matchRoute, type ApiOptions } from './routes.js';
import { ClientError, PlatformState, type BuildRecord, type DeploymentRecord } from './state.js';

export type { Clock } from './clock.js';
export { ROUTE_IDS, type FaultRule, type RouteId } from './faults.js';
export type { RecordedRequest } from './http.js';
export { CRASH_MARKER, FAIL_BUILD_MARKER, type BuildRecord, type DeploymentRecord } from './state.js';
export { AGENT_DIRECTIVES, DEFAULT_FAILURE, DEFAULT_REPLY_TEMPLATE, WRONG_REPLY, agentCodeDirective, agentMessageDirective, type AgentDirectiveName } from './agent.js';
export { UNREACHABLE_AGENT } from './agent-tasks.js';

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
  /** Time for stamps, expiry and status steps; tests pass one they move by hand. */
  clock?: Clock;
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

/**
 * Starts the Agentex-compatible local platform: a real HTTP server over in-memory state
 * (`state.ts`), answering the v5 routes (`routes.ts`), with injectable faults (`faults.ts`).
 */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const clock = options.clock ?? systemClock;
  const faults = new FaultSwitch();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const openStreams = new Set<ServerResponse>();
  let baseUrl = '';
  const state = new PlatformState(options.accountId ?? 'acct-local', { buildStepMs: options.buildStepMs ?? 400, deployStepMs: options.deployStepMs ?? 400 }, () => baseUrl, clock);
  const agentServer = new AgentServer(state, clock);
  const api: ApiOptions = {
    legacyBuildShape: options.legacyBuildShape ?? false,
    maxArchiveBytes: options.maxArchiveBytes ?? MAX_ARCHIVE_BYTES,
    strictAgentNames: (options.agentNames ?? 'strict') === 'strict',
  };
  const log = options.log ?? (() => {});

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, at: clock.now() };
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

  /** Checks the key, applies any injected fault, then answers the route. */
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    state.expirePreviews();
    if (url.pathname.startsWith('/_local/')) return send(res, record, await control(state, faults, req, url));
    const route = matchRoute(req.method, url.pathname);
    if (!route) {
      req.resume();
      return send(res, record, { status: 404, body: { detail: `no route ${req.method} ${url.pathname}` } });
    }
    record.route = route.id;
    if (route.id !== 'preview.page' && options.apiKey && req.headers['x-api-key'] !== options.apiKey) {
      req.resume();
      return send(res, record, { status: 401, body: { detail: 'invalid or missing x-api-key' } });
    }

    const fault = faults.take(route.id);
    if (fault?.latencyMs) await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), fault.latencyMs!));
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

    if (route.id === 'builds.logs') return streamBuildLog(state, req, res, route.param, record, openStreams, fault?.dropStreamAfterLines);
    if (route.id === 'preview.page') return servePreview(res, route.param, record);
    if (AGENT_SERVER_ROUTES.has(route.id)) {
      const reply = await agentServer.answer(route.id, req, url, route.params);
      return send(res, record, fault?.status && fault.afterHandling ? faultReply(fault) : reply);
    }
    const reply = await answer(state, api, route.id, req, url, route.param);
    if (fault?.status && fault.afterHandling) return send(res, record, faultReply(fault));
    return send(res, record, reply);
  }

  function servePreview(res: ServerResponse, release: string, record: RecordedRequest): void {
    const deployment = state.byRelease(release);
    const page = renderPreviewPage(deployment, deployment?.build_id ? state.builds.get(deployment.build_id) : undefined);
    record.status = page.status;
    res.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page.html);
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
      agentServer.close();
      for (const stream of openStreams) stream.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
