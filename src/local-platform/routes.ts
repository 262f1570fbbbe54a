import type { IncomingMessage } from 'node:http';
import type { RouteId } from './faults.js';
import { readJson, type Reply } from './http.js';
import { ClientError, type BuildRecord, type PlatformState } from './state.js';
import { receiveBuild, type UploadLimits } from './upload.js';

interface Route {
  id: RouteId;
  method: string;
  pattern: RegExp;
}

/** The Agentex v5 routes the local platform serves, and the preview pages. */
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
  // The Agentex server's own routes (agent-server.ts); `/agents/name/…` first, as FastAPI matches it first.
  { id: 'agents.byName', method: 'GET', pattern: /^\/agents\/name\/([^/]+)$/ },
  { id: 'agents.deployments.list', method: 'GET', pattern: /^\/agents\/([^/]+)\/deployments$/ },
  { id: 'agents.deployments.get', method: 'GET', pattern: /^\/agents\/([^/]+)\/deployments\/([^/]+)$/ },
  { id: 'agents.deployments.rpc', method: 'POST', pattern: /^\/agents\/([^/]+)\/deployments\/([^/]+)\/rpc$/ },
  { id: 'tasks.get', method: 'GET', pattern: /^\/tasks\/([^/]+)$/ },
  { id: 'messages.list', method: 'GET', pattern: /^\/messages$/ },
];

/** The route a request is for and its path parameters (`param` is the first), or undefined for no route. */
export function matchRoute(method: string | undefined, pathname: string): { id: RouteId; param: string; params: string[] } | undefined {
  const route = ROUTES.find((candidate) => candidate.method === method && candidate.pattern.test(pathname));
  if (!route) return undefined;
  const params = (route.pattern.exec(pathname) ?? []).slice(1).map((part) => decodeURIComponent(part));
  return { id: route.id, param: params[0] ?? '', params };
}

export interface ApiOptions extends UploadLimits {
  /** Answer builds in the older `{build_id, status}` shape. */
  legacyBuildShape: boolean;
}

/** Answers a JSON route of the API (every route but the build log stream and the preview page). */
export async function answer(state: PlatformState, options: ApiOptions, route: RouteId, req: IncomingMessage, url: URL, param: string): Promise<Reply> {
  const query = url.searchParams;
  const shapeBuild = (build: BuildRecord) => shapeBuildRecord(build, options.legacyBuildShape);
  switch (route) {
    case 'builds.create':
      return { status: 201, body: shapeBuild(await receiveBuild(req, state, options)) };
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

function shapeBuildRecord(build: BuildRecord, legacy: boolean): unknown {
  if (!legacy) return build;
  const { id, build_status, ...rest } = build;
  return { ...rest, build_id: id, status: build_status };
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
