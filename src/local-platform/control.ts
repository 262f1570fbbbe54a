import type { IncomingMessage } from 'node:http';
import { parseFaultRule, type FaultSwitch } from './faults.js';
import { readJson, type Reply } from './http.js';
import type { PlatformState } from './state.js';

/**
 * The local platform's own routes under `/_local/`, which no real platform has: inject and clear
 * faults, and read a summary of the state.
 */
export async function control(state: PlatformState, faults: FaultSwitch, req: IncomingMessage, url: URL): Promise<Reply> {
  if (url.pathname === '/_local/faults' && req.method === 'POST') {
    try {
      const rule = parseFaultRule(await readJson(req));
      faults.add(rule);
      return { status: 201, body: { rules: faults.rules } };
    } catch (err) {
      return { status: 400, body: { detail: (err as Error).message } };
    }
  }
  if (url.pathname === '/_local/faults' && req.method === 'DELETE') {
    faults.clear();
    return { status: 200, body: { rules: [] } };
  }
  if (url.pathname === '/_local/state' && req.method === 'GET') {
    state.expirePreviews();
    return {
      status: 200,
      body: {
        builds: [...state.builds.values()].map((build) => ({
          id: build.id,
          agent_name: build.agent_name,
          build_status: build.build_status,
          working_tree_hash: build.working_tree_hash,
        })),
        deployments: [...state.deployments.values()].map((deployment) => ({
          id: deployment.id,
          agent_name: deployment.agent_name,
          status: deployment.status,
          preview_label: deployment.preview_label,
          url: deployment.url,
        })),
        faults: faults.rules,
      },
    };
  }
  req.resume();
  return { status: 404, body: { detail: `no control route ${req.method} ${url.pathname}` } };
}
