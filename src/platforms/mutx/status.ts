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

/** `restart` only works from these (the reference says stopped or failed; the API also takes killed). */
export const RESTARTABLE_STATUSES: ReadonlySet<string> = new Set(['stopped', 'failed', 'killed']);
/** `scale` only works from these. */
export const SCALABLE_STATUSES: ReadonlySet<string> = new Set(['running', 'ready']);
