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
  outputs: Record<string, string>;
  summary: string;
}

const examples = JSON.parse(
  await readFile(path.join(REPO_ROOT, 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8'),
) as { name: string; examples: Json[] }[];

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
    GITHUB_WORKSPACE: setup.workspace,
    RUNNER_TEMP: dir,
    ...(setup.forge.flavor === 'gitea' ? { GITEA_ACTIONS: 'true' } : {}),
    INPUT_PLATFORM: setup.platform ?? 'local',
    'INPUT_API-URL': setup.platformUrl,
    'INPUT_API-KEY': setup.apiKey,
    INPUT_MANIFEST: 'agents/*/manifest.yaml',
    'INPUT_GITHUB-TOKEN': setup.token,
    'INPUT_POLL-INTERVAL': '0.2s',
    INPUT_TIMEOUT: '60s',
    ...Object.fromEntries(Object.entries(inputs).map(([key, value]) => [`INPUT_${key.toUpperCase()}`, value])),
    ...setup.env,
    ...extraEnv,
  };
  const { code, log } = await new Promise<{ code: number; log: string }>((resolve) => {
    execFile(process.execPath, [ACTION_BUNDLE], { env, cwd: setup.workspace, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, log: stdout + stderr });
    });
  });
  const outputs = parseOutputs(await readFile(outputPath, 'utf8'));
  const summary = await readFile(summaryPath, 'utf8');
  await rm(dir, { recursive: true, force: true });
  setup.captured.push(log, summary, JSON.stringify(outputs));
  return { code, log, outputs, summary };
}

/** What a person would see: the runner consumes `::add-mask::` lines and shows nothing of them. */
export function shownText(captured: string[]): string[] {
  return captured.map((text) => text.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n'));
}
