/** The Agentex server routes (`agent-server.ts`, which serves them as `AGENT_SERVER_ROUTES`). */
export const AGENT_SERVER_ROUTE_IDS = ['agents.byName', 'agents.deployments.list', 'agents.deployments.get', 'agents.deployments.rpc', 'tasks.get', 'messages.list'] as const;

/** Every route of the local platform that a fault can target. */
export const ROUTE_IDS = [
  'builds.create',
  'builds.list',
  'builds.get',
  'builds.cancel',
  'builds.logs',
  'builds.undeployed',
  'deployments.create',
  'deployments.list',
  'deployments.get',
  'deployments.delete',
  'deployments.logs',
  'preview.page',
  ...AGENT_SERVER_ROUTE_IDS,
] as const;
export type RouteId = (typeof ROUTE_IDS)[number];

/** One injected misbehaviour. Rules are consumed in order; each applies `times` times (default 1). */
export interface FaultRule {
  route: RouteId;
  /** Answer with this status (and a platform-shaped error body) instead of the real response. */
  status?: number;
  /** With a 429 or 503: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** Wait this long before handling. */
  latencyMs?: number;
  /** Destroy the connection without an answer (mid-upload for builds.create). */
  resetConnection?: boolean;
  /** For builds.logs: cut the event stream after this many events. */
  dropStreamAfterLines?: number;
  /** Do the real work, then answer with `status` anyway: a create whose response is lost. */
  afterHandling?: boolean;
  times?: number;
}

export class FaultSwitch {
  private readonly active: (FaultRule & { left: number })[] = [];

  get rules(): FaultRule[] {
    return this.active.map(({ left: _left, ...rule }) => rule);
  }

  add(rule: FaultRule): void {
    if (!ROUTE_IDS.includes(rule.route)) throw new Error(`unknown route "${rule.route}"; use one of ${ROUTE_IDS.join(', ')}`);
    this.active.push({ ...rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.active.length = 0;
  }

  /** The next rule for this route, counted as used. */
  take(route: RouteId): FaultRule | undefined {
    const index = this.active.findIndex((rule) => rule.route === route && rule.left > 0);
    if (index === -1) return undefined;
    const rule = this.active[index];
    rule.left--;
    if (rule.left <= 0) this.active.splice(index, 1);
    return rule;
  }
}

/** Parses a rule sent to `POST /_local/faults`, with a message for what is wrong. */
export function parseFaultRule(body: unknown): FaultRule {
  if (!body || typeof body !== 'object') throw new Error('send a JSON object like {"route": "builds.get", "status": 503, "times": 3}');
  const raw = body as Record<string, unknown>;
  if (!ROUTE_IDS.includes(raw.route as RouteId)) throw new Error(`route must be one of ${ROUTE_IDS.join(', ')}`);
  const numberOf = (name: string) => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (value === 'Infinity' || value === null) return Number.POSITIVE_INFINITY;
    if (typeof value !== 'number' || value < 0) throw new Error(`${name} must be a non-negative number`);
    return value;
  };
  return {
    route: raw.route as RouteId,
    status: numberOf('status'),
    retryAfterSeconds: numberOf('retryAfterSeconds'),
    latencyMs: numberOf('latencyMs'),
    resetConnection: raw.resetConnection === true,
    dropStreamAfterLines: numberOf('dropStreamAfterLines'),
    afterHandling: raw.afterHandling === true,
    times: numberOf('times'),
  };
}

/** The answer an injected status fault gives, shaped as the platform's own errors (the Agentex server's `{message, code, data}` on its routes). */
export function faultReply(fault: FaultRule): { status: number; body: unknown; headers: Record<string, string> } {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  const detail = status === 429 ? 'rate limit exceeded' : status >= 500 ? 'upstream unavailable (injected fault)' : 'injected fault';
  const agentServerRoute = ['agents.', 'tasks.', 'messages.'].some((prefix) => fault.route.startsWith(prefix));
  return { status, body: agentServerRoute ? { message: detail, code: status, data: null } : { detail }, headers };
}
