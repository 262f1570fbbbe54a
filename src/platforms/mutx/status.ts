import type { DeployPhase } from '../platform.js';

/**
 * Deployment statuses seen in the MUTX codebase: `pending` (a fresh create or a restart),
 * `deploying`, `running`, `ready`, `stopped`, `failed`, `killed` (what DELETE leaves). A stopped or
 * killed deployment serves nothing and needs no teardown.
 */
const DEPLOY_PHASES: Record<string, DeployPhase> = {
  pending: 'progressing',
  deploying: 'progressing',
  running: 'healthy',
  ready: 'healthy',
  failed: 'failed',
  stopped: 'deleted',
  killed: 'deleted',
};

export function deployPhase(rawStatus: string | undefined): DeployPhase {
  return DEPLOY_PHASES[(rawStatus ?? '').trim().toLowerCase()] ?? 'unknown';
}

/** Statuses of a deployment that serves, or is on its way to (pending and deploying come before running). */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(['pending', 'deploying', 'running', 'ready']);
