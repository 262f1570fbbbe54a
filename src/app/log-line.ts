/**
 * A pino line with each key once. Probot names its loggers by child bindings (`probot`, then `event`,
 * `github`, `octokit`: probot 14.3.2 lib/probot.js, lib/octokit/octokit-webhooks-transform.js,
 * lib/octokit/get-authenticated-octokit.js), and pino appends a child's
 * bindings to its parent's, so a line carried `"name":"probot","name":"event"`: JSON that most log
 * pipelines read as the last value, and some refuse. Parsing keeps the last, the most specific.
 */
export function withUniqueKeys(line: string): string {
  try {
    return `${JSON.stringify(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}
