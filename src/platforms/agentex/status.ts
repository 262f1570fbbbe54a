import type { BuildPhase, DeployPhase } from '../platform.js';

/** Lowercase, with spaces and hyphens as underscores: `In-Progress` and `IN_PROGRESS` compare equal. */
function canonical(status: unknown): string {
  return String(status ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

const BUILD_PHASES: Record<string, BuildPhase> = {
  queued: 'queued',
  pending: 'queued',
  created: 'queued',
  running: 'running',
  in_progress: 'running',
  building: 'running',
  success: 'succeeded',
  succeeded: 'succeeded',
  successful: 'succeeded',
  completed: 'succeeded',
  complete: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  errored: 'failed',
  timed_out: 'failed',
  timeout: 'failed',
  // The image is being or could not be removed: nothing left to deploy.
  deleting: 'failed',
  delete_failed: 'failed',
  cancelling: 'cancelling',
  canceling: 'cancelling',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

const DEPLOY_PHASES: Record<string, DeployPhase> = {
  pending: 'pending',
  queued: 'pending',
  created: 'pending',
  in_progress: 'progressing',
  running: 'progressing',
  deploying: 'progressing',
  progressing: 'progressing',
  installing: 'progressing',
  healthy: 'healthy',
  completed: 'healthy',
  complete: 'healthy',
  succeeded: 'healthy',
  success: 'healthy',
  ready: 'healthy',
  deployed: 'healthy',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  unhealthy: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  deleted: 'deleted',
  superseded: 'superseded',
};

/** Every spelling the sources show, case-insensitively; anything else is `unknown` (not finished). */
export function buildPhase(status: unknown): BuildPhase {
  return BUILD_PHASES[canonical(status)] ?? 'unknown';
}

export function deployPhase(status: unknown): DeployPhase {
  return DEPLOY_PHASES[canonical(status)] ?? 'unknown';
}
