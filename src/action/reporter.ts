import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { formatDuration } from '../duration.js';
import type { Reporter } from '../pipeline/reporter.js';
import { redact } from '../secrets/redact.js';

/**
 * Prints text that came from PR code or a platform (build and runtime logs, deploy events, platform
 * statuses and error messages, names) so that no line of it can run as a workflow command.
 *
 * The runner reads every stdout line as a possible command: `::name ...::data` at the start of the
 * line after leading whitespace, and `##[name ...]data` anywhere in it
 * (actions/runner@258d6c857db3519913f7deb6004b60172f8043ae:src/Runner.Common/ActionCommand.cs,
 * TryParseV2 and TryParse). `::stop-commands::<token>` makes it ignore every command until a line
 * `::<token>::` (src/Runner.Worker/ActionCommandManager.cs, TryProcessCommand), and act, which runs
 * Gitea Actions, does the same (nektos/act@bd86152165b976e89c24093ceb039d732b5ed95f:pkg/runner/command.go,
 * resumeCommand). The token is fresh for every block and unguessable (128 bits), so the text cannot
 * end the block itself; the runner masks tokens longer than 6 characters in the log.
 *
 * Annotations (`core.warning`, `core.notice`, `core.setFailed`) need no block: @actions/core escapes
 * their data (`%`, CR and LF), so a message cannot start a line of its own.
 */
export function printUntrusted(lines: string[]): void {
  if (!lines.length) return;
  const token = randomBytes(16).toString('hex');
  core.info(`::stop-commands::${token}`);
  for (const line of lines) core.info(redact(line));
  core.info(`::${token}::`);
}

export interface ActionReporter extends Reporter {
  /** Prints what is still held for agents that never said they were done (a teardown, a cancel). */
  flush(): void;
}

/**
 * Writes the pipeline's progress into the job log, one collapsible group per agent. Agents run in
 * parallel, so each agent's lines are held until it finishes and then printed together, inside one
 * stop-commands block; a line that is not an agent's is printed at once, also inside a block.
 */
export function actionReporter(): ActionReporter {
  const held = new Map<string, string[]>();
  const quarters = new Map<string, number>();
  const hold = (agent: string, line: string) => {
    const lines = held.get(agent) ?? [];
    lines.push(line);
    held.set(agent, lines);
  };
  const printGroup = (agent: string) => {
    const lines = held.get(agent);
    held.delete(agent);
    if (!lines?.length) return;
    // The title is command data: @actions/core escapes it, and manifests allow only [a-z0-9-] names.
    core.startGroup(`agent ${agent}`);
    printUntrusted(lines);
    core.endGroup();
  };
  return {
    info: (message) => printUntrusted([message]),
    warn: (message) => core.warning(redact(message)),
    step: (agent, message) => hold(agent, `▸ ${message}`),
    buildLog: (agent, line) => hold(agent, `│ ${line}`),
    uploadProgress: (agent, sent, total) => {
      const quarter = total > 0 ? Math.floor((sent / total) * 4) * 25 : 100;
      if (quarter <= (quarters.get(agent) ?? -1)) return;
      quarters.set(agent, quarter);
      hold(agent, `  upload ${quarter}%`);
    },
    status: (agent, what, status, elapsedMs) => hold(agent, `  ${agent} ${what} ${status} (${formatDuration(elapsedMs)})`),
    agentDone: (agent) => printGroup(agent),
    flush: () => {
      for (const agent of [...held.keys()]) printGroup(agent);
    },
  };
}
