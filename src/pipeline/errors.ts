import type { Phase } from '../agent-result.js';
import { redact } from '../secrets/redact.js';

export type { Phase };

/**
 * A run that failed in one phase for one agent. `logTail` holds the platform's last log lines
 * (build log, or deployment logs and events) so the user sees why without another command.
 */
export class PhaseError extends Error {
  override name = 'PhaseError';
  readonly logTail: string[];
  constructor(
    readonly agent: string,
    readonly phase: Phase,
    reason: string,
    options: { logTail?: string[]; cause?: unknown; buildId?: string; deploymentId?: string } = {},
  ) {
    super(redact(`${agent}: ${phase} failed: ${reason}`), { cause: options.cause });
    this.logTail = (options.logTail ?? []).map(redact);
    this.buildId = options.buildId;
    this.deploymentId = options.deploymentId;
  }
  readonly buildId?: string;
  readonly deploymentId?: string;
}
