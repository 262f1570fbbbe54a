import type { BuildPhase, DeployPhase } from '../platform.js';

/**
 * Service statuses from the create-service reference: `starting`, `ready`, `unhealthy`,
 * `stopping`, `stopped`, `failed`. A stopping service is on its way out and needs no teardown.
 */
const SERVICE_PHASES: Record<string, DeployPhase> = {
  starting: 'progressing',
  ready: 'healthy',
  unhealthy: 'failed',
  failed: 'failed',
  stopping: 'deleted',
  stopped: 'deleted',
};

/**
 * Version statuses. The reference only says an upload "activates" a version, so `active` is the
 * one success; a version still waiting for its bundle is queued, a rejected one failed.
 */
const VERSION_PHASES: Record<string, BuildPhase> = {
  pending_upload: 'queued',
  pending: 'queued',
  created: 'queued',
  uploading: 'running',
  active: 'succeeded',
  ready: 'succeeded',
  failed: 'failed',
  rejected: 'failed',
};

function canonical(status: unknown): string {
  return String(status ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

export function servicePhase(status: unknown): DeployPhase {
  return SERVICE_PHASES[canonical(status)] ?? 'unknown';
}

export function versionPhase(status: unknown): BuildPhase {
  return VERSION_PHASES[canonical(status)] ?? 'unknown';
}
