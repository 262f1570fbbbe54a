/**
 * What a run did for one agent. It lives below both the pipeline that produces it and the forge
 * comment that renders it, so neither imports the other.
 */

/** Where a run for one agent stopped. */
export type Phase = 'validate' | 'pack' | 'build' | 'deploy' | 'wait' | 'teardown';

export type AgentStatus = 'healthy' | 'unchanged' | 'deployed' | 'built' | 'failed';

/** What happened to one agent; the same fields the action puts in its outputs and comment. */
export interface AgentResult {
  agent: string;
  manifest: string;
  status: AgentStatus;
  treeHash?: string;
  buildId?: string;
  buildReused?: boolean;
  deploymentId?: string;
  deploymentStatus?: string;
  url?: string;
  previewLabel?: string;
  expiresAt?: string;
  replaced?: string[];
  failedPhase?: Phase;
  error?: string;
  logTail?: string[];
}
