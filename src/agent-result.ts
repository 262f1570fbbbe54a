/**
 * What a run did for one agent. It lives below both the pipeline that produces it and the forge
 * comment that renders it, so neither imports the other.
 */

/** Where a run for one agent stopped. */
export type Phase = 'validate' | 'pack' | 'build' | 'deploy' | 'wait' | 'teardown';

/**
 * `unchanged`: the agent's live preview already was what this run would deploy, and was kept.
 * `closed` / `superseded`: the PR closed, or a newer commit became its head, during the run; this
 * run's own preview was not kept (`error` says whether it was removed).
 */
export const AGENT_STATUSES = ['healthy', 'unchanged', 'deployed', 'built', 'failed', 'closed', 'superseded'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

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
  /** `closed` / `superseded`: the run's own deployment could not be deleted and is still running. */
  leftRunning?: boolean;
  error?: string;
  logTail?: string[];
}
