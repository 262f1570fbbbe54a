import type { Logger } from 'probot';
import type { PullRequestNow, RepoAccess } from '../app/deliveries.js';
import type { Forge } from '../forge/forge.js';
import type { PreviewLabels } from '../pipeline/label.js';
import type { Reporter } from '../pipeline/reporter.js';
import type { Platform } from '../platforms/platform.js';
import type { RepoConfig } from '../previews/repo-config.js';
import type { ConversationStore } from './conversations.js';
import type { CommandJob } from './job.js';

/** How long commands wait on the platform. */
export interface CommandTiming {
  pollIntervalMs: number;
  /** How long a deploy (extend, redeploy) may take to become healthy, as the action's `timeout`. */
  deployTimeoutMs: number;
  /** How long an `ask` waits for the agent's reply, and for its preview to accept conversations. */
  askTimeoutMs: number;
}

export const DEFAULT_COMMAND_TIMING: CommandTiming = { pollIntervalMs: 5_000, deployTimeoutMs: 15 * 60_000, askTimeoutMs: 120_000 };

/** Everything a confirmed command runs with: the forge's answers, never the delivery's. */
export interface CommandRun {
  job: CommandJob;
  access: RepoAccess;
  forge: Forge;
  /** The pull request as the forge answered when the command started: its head commit is pinned here. */
  pull: PullRequestNow;
  /** The comment's author as the forge names them. */
  reviewer: string;
  config: RepoConfig;
  platform: Platform;
  labels: PreviewLabels;
  conversations: ConversationStore;
  timing: CommandTiming;
  log: Logger;
  signal: AbortSignal;
}

/** What a command did, for the reply and the reaction: `ok` is 🚀, otherwise 😕. */
export interface CommandResult {
  ok: boolean;
  /** The reply's Markdown, after the quoted command. */
  body: string;
}

/** The pipeline's reporter, writing into the app's log (commands have no job log of their own). */
export function logReporter(log: Logger): Reporter {
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    step: (agent, message) => log.info({ agent }, `${agent}: ${message}`),
    buildLog: () => {},
  };
}
