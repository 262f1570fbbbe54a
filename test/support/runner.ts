import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './agents.js';
import type { TestForge } from './forge/server.js';

type Json = Record<string, any>;

export const ACTION_BUNDLE = path.join(REPO_ROOT, 'dist', 'action', 'index.js');

export interface ActionRun {
  code: number;
  log: string;
  /** What the step's later steps would read: `::set-output` commands the runner executed, then GITHUB_OUTPUT. */
  outputs: Record<string, string>;
  summary: string;
  /** Every workflow command the runner would have executed from the step's output, in order. */
  commands: ExecutedCommand[];
}

export interface ExecutedCommand {
  name: string;
  properties: Record<string, string>;
  data: string;
  /** The output line it came from. */
  line: string;
}

// The commands a runner knows (actions/runner@258d6c857db3519913f7deb6004b60172f8043ae:
// src/Runner.Worker/ActionCommandManager.cs registers stop-commands and every command extension).
const REGISTERED = [
  'stop-commands',
  'set-output',
  'set-env',
  'add-path',
  'add-mask',
  'save-state',
  'debug',
  'notice',
  'warning',
  'error',
  'group',
  'endgroup',
  'echo',
  'add-matcher',
  'remove-matcher',
];

function unescapeAll(text: string, mappings: [string, string][]): string {
  let result = text;
  for (const [token, replacement] of mappings) result = result.split(replacement).join(token);
  return result;
}

/**
 * Reads a step's output as the GitHub runner does, and returns the commands it would execute.
 * - Lines end at LF, CR or CRLF: the runner reads each stream with StreamReader.ReadLine
 *   (src/Runner.Sdk/ProcessInvoker.cs, StartReadStream).
 * - `::name k=v,k=v::data` counts at the start of a line after leading whitespace (ActionCommand.TryParseV2),
 *   and `##[name k=v;k=v]data` anywhere in the line (ActionCommand.TryParse), for registered names only.
 * - After `::stop-commands::<token>` nothing runs until a line `::<token>::` (ActionCommandManager.TryProcessCommand).
 * act, which runs Gitea Actions, accepts a subset: both forms only at the very start of a line, and
 * the same stop-commands rule (nektos/act@bd86152165b976e89c24093ceb039d732b5ed95f:pkg/runner/command.go).
 */
export function runnerCommands(output: string): ExecutedCommand[] {
  const executed: ExecutedCommand[] = [];
  let stopToken: string | undefined;
  for (const line of output.split(/\r\n|\r|\n/)) {
    if (!line.includes('::') && !line.includes('##[')) continue;
    const command = parseV2(line, stopToken) ?? parseV1(line, stopToken);
    if (!command) continue;
    if (stopToken) {
      if (command.name.toLowerCase() === stopToken.toLowerCase()) stopToken = undefined;
      continue;
    }
    if (command.name === 'stop-commands') stopToken = command.data;
    executed.push(command);
  }
  return executed;
}

function registered(name: string, stopToken: string | undefined): boolean {
  return REGISTERED.includes(name.toLowerCase()) || (stopToken !== undefined && name.toLowerCase() === stopToken.toLowerCase());
}

function parseV2(line: string, stopToken: string | undefined): ExecutedCommand | undefined {
  const message = line.trimStart();
  if (!message.startsWith('::')) return undefined;
  const end = message.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(' ');
  const name = space < 0 ? info : info.slice(0, space);
  if (!registered(name, stopToken)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .trim()
      .split(',')
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0 && at < pair.length - 1)
        properties[pair.slice(0, at)] = unescapeAll(pair.slice(at + 1), [
          ['\r', '%0D'],
          ['\n', '%0A'],
          [':', '%3A'],
          [',', '%2C'],
          ['%', '%25'],
        ]);
    }
  }
  return {
    name,
    properties,
    data: unescapeAll(message.slice(end + 2), [
      ['\r', '%0D'],
      ['\n', '%0A'],
      ['%', '%25'],
    ]),
    line,
  };
}

function parseV1(line: string, stopToken: string | undefined): ExecutedCommand | undefined {
  const prefix = line.indexOf('##[');
  if (prefix < 0) return undefined;
  const bracket = line.indexOf(']', prefix);
  if (bracket < 0) return undefined;
  const info = line.slice(prefix + 3, bracket);
  const space = info.indexOf(' ');
  const name = space < 0 ? info : info.slice(0, space);
  if (!registered(name, stopToken)) return undefined;
  const mappings: [string, string][] = [
    [';', '%3B'],
    ['\r', '%0D'],
    ['\n', '%0A'],
    [']', '%5D'],
    ['%', '%25'],
  ];
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info
      .slice(space + 1)
      .split(';')
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0 && at < pair.length - 1) properties[pair.slice(0, at)] = unescapeAll(pair.slice(at + 1), mappings);
    }
  }
  return { name, properties, data: unescapeAll(line.slice(bracket + 1), mappings), line };
}

const examples = JSON.parse(await readFile(path.join(REPO_ROOT, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8')) as {
  name: string;
  examples: Json[];
}[];

/** GitHub's own example payload for an event, first of its kind (optionally with this action). */
export function exampleEvent(name: string, action?: string): Json {
  const entry = examples.find((candidate) => candidate.name === name)!;
  return structuredClone(action ? entry.examples.find((example) => example.action === action)! : entry.examples[0]);
}

/** GitHub's own pull_request payload, adjusted to this run's PR, commit and forge. */
export function pullRequestEvent(action: string, headSha: string, options: { fork?: boolean; gitea?: boolean; number?: number } = {}): Json {
  const event = exampleEvent('pull_request', 'opened');
  event.action = options.gitea && action === 'synchronize' ? 'synchronized' : action;
  event.pull_request.head.sha = headSha;
  if (options.number !== undefined) {
    event.number = options.number;
    event.pull_request.number = options.number;
  }
  if (action === 'closed') event.pull_request.state = 'closed';
  if (options.fork) event.pull_request.head.repo = { ...event.pull_request.head.repo, full_name: 'forker/Hello-World', fork: true };
  return event;
}

function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const match of text.matchAll(/^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) outputs[match[1]] = match[3];
  return outputs;
}

export interface RunnerSetup {
  forge: TestForge;
  /** The `platform` input; `local` unless given. */
  platform?: string;
  /** The `api-url` input; empty to let the platform's own variable (e.g. MUTX_API_URL in `env`) apply. */
  platformUrl: string;
  /** The `api-key` input; empty to let the platform's own variable (e.g. NULLSPACE_API_KEY in `env`) apply. */
  apiKey: string;
  /** Environment for every run, as a workflow's `env:` gives it (a platform's own variables); a run's `extraEnv` wins. */
  env?: NodeJS.ProcessEnv;
  token: string;
  repository: string;
  workspace: string;
  /** Every log, summary and output, for the secret search. */
  captured: string[];
  /** Node options before the bundle (a runner gives none). */
  nodeArgs?: string[];
}

/**
 * `node dist/action/index.js`, as a runner starts it. For measuring (docs/development.md, "Test suite
 * cost"): `AGENT_PREVIEW_TEST_NODE_ARGS` adds Node options to every run (`--cpu-prof`), and
 * `AGENT_PREVIEW_TEST_RUN_COST=<file>` appends each run's CPU seconds (user, system), wall seconds and test to the file.
 */
function bundleCommand(nodeArgs: string[] = []): string[] {
  const command = [process.execPath, ...nodeArgs, ...(process.env.AGENT_PREVIEW_TEST_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ACTION_BUNDLE];
  const costFile = process.env.AGENT_PREVIEW_TEST_RUN_COST;
  if (!costFile) return command;
  const test = (expect.getState().currentTestName ?? '').replace(/%/g, '%%');
  return ['/usr/bin/time', '--append', '--output', costFile, '--format', `%U %S %e ${test}`, ...command];
}

/** Runs the committed action bundle the way a GitHub or Gitea runner does. */
export async function runActionBundle(setup: RunnerSetup, event: Json, inputs: Record<string, string> = {}, extraEnv: NodeJS.ProcessEnv = {}): Promise<ActionRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-runner-'));
  const eventPath = path.join(dir, 'event.json');
  const outputPath = path.join(dir, 'output');
  const summaryPath = path.join(dir, 'summary');
  await writeFile(eventPath, JSON.stringify(event));
  await writeFile(outputPath, '');
  await writeFile(summaryPath, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_REPOSITORY: setup.repository,
    GITHUB_SHA: event.pull_request?.head?.sha ?? 'f00',
    GITHUB_REF: `refs/pull/${event.number}/merge`,
    GITHUB_SERVER_URL: setup.forge.url,
    GITHUB_API_URL: setup.forge.apiUrl,
    GITHUB_RUN_ID: '77',
    GITHUB_RUN_NUMBER: '12',
    GITHUB_WORKSPACE: setup.workspace,
    RUNNER_TEMP: dir,
    ...(setup.forge.flavor === 'gitea' ? { GITEA_ACTIONS: 'true' } : {}),
    INPUT_PLATFORM: setup.platform ?? 'local',
    'INPUT_API-URL': setup.platformUrl,
    'INPUT_API-KEY': setup.apiKey,
    INPUT_MANIFEST: 'agents/*/manifest.yaml',
    'INPUT_GITHUB-TOKEN': setup.token,
    'INPUT_POLL-INTERVAL': '0.1s',
    INPUT_TIMEOUT: '60s',
    // The test forges have no secondary rate limits; GitHub's 1 s spacing is tested in test/integration/forge.
    AGENT_PREVIEW_WRITE_SPACING: '0',
    // Retried platform calls back off from 5 ms, not 250 ms: the faults are injected, the waits would be idle.
    AGENT_PREVIEW_RETRY_DELAY: '5ms',
    ...Object.fromEntries(Object.entries(inputs).map(([key, value]) => [`INPUT_${key.toUpperCase()}`, value])),
    ...setup.env,
    ...extraEnv,
  };
  const { code, log } = await new Promise<{ code: number; log: string }>((resolve) => {
    const [command, ...args] = bundleCommand(setup.nodeArgs);
    execFile(command, args, { env, cwd: setup.workspace, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, log: stdout + stderr });
    });
  });
  const commands = runnerCommands(log);
  // File commands are read when the step ends, after its output: GITHUB_OUTPUT wins.
  const outputs = {
    ...Object.fromEntries(commands.filter((command) => command.name === 'set-output').map((command) => [command.properties.name, command.data])),
    ...parseOutputs(await readFile(outputPath, 'utf8')),
  };
  const summary = await readFile(summaryPath, 'utf8');
  await rm(dir, { recursive: true, force: true });
  setup.captured.push(log, summary, JSON.stringify(outputs));
  return { code, log, outputs, summary, commands };
}

/** What a person would see: the runner consumes `::add-mask::` lines and shows nothing of them. */
export function shownText(captured: string[]): string[] {
  return captured.map((text) =>
    text
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n'),
  );
}
