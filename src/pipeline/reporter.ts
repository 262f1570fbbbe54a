/**
 * How the pipeline tells a person what is happening. Each door renders it its own way (the CLI on
 * a terminal, the action into the job log); the pipeline never prints.
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** A phase of one agent's run began or changed: "packing", "building", "deploying"... */
  step(agent: string, message: string): void;
  /** One line of the platform's build log, as it arrives. */
  buildLog(agent: string, line: string): void;
  uploadProgress?(agent: string, sentBytes: number, totalBytes: number): void;
  /** A status seen while waiting (only when it changes). */
  status?(agent: string, what: 'build' | 'deployment', status: string, elapsedMs: number): void;
  /** The agent's run ended (agents run in parallel; a door may hold each agent's lines until then). */
  agentDone?(agent: string): void;
}

/** Says nothing; for callers that only want the result. */
export const silentReporter: Reporter = {
  info() {},
  warn() {},
  step() {},
  buildLog() {},
};

/** What every step that talks to a platform and waits on it is given. */
export interface StepContext {
  reporter: Reporter;
  signal?: AbortSignal;
  pollIntervalMs: number;
  /** Each wait (a build, a deployment) gets this long. */
  timeoutMs: number;
}
