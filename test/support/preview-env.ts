import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform, type LocalPlatform, type LocalPlatformOptions } from '../../src/local-platform/index.js';
import { clearSecrets } from '../../src/secrets/redact.js';
import { HELLO_AGENT } from './agents.js';
import { startTestForge, type ForgeFlavor, type TestForge, type TestForgeOptions } from './forge/server.js';
import { pullRequestEvent, runActionBundle, shownText, type ActionRun, type RunnerSetup } from './runner.js';

type Json = Record<string, any>;

export interface PreviewEnvOptions {
  /** The platform's key, given as the `api-key` input; it must never show in a log, summary, output or on the forge. */
  apiKey: string;
  /** The job token (`github-token`); likewise. */
  token: string;
  /** `github` unless given. */
  flavor?: ForgeFlavor;
  /** More of the forge's options (a sub-path, a ROOT_URL). */
  forge?: Omit<TestForgeOptions, 'flavor' | 'token'>;
  /** The repository seeded on the forge and named by runs; GitHub's example payloads' Codertocat/Hello-World on `master` unless given. */
  repo?: { owner: string; name: string; defaultBranch: string };
  /** A pull request opened before each test. */
  pull?: PullRequestSeed;
  /**
   * Each test's local platform: these options over quick status steps (a function for options made per
   * test, such as a clock), or `false` where runs go to another platform's server (then `setup` names it).
   */
  local?: LocalPlatformOptions | (() => LocalPlatformOptions) | false;
  /** Fills the workspace, once per file; hello-agent at agents/hello unless given. */
  workspace?: (dir: string) => Promise<void>;
  /** What each run gets besides the defaults, read when the run starts (another platform, its URL and key, a proxy in between). */
  setup?: () => Partial<RunnerSetup>;
  /** More secrets that must not show (read once every test has ended). */
  secrets?: () => string[];
}

/** A pull request of the seeded repository: from branch `changes` into the default branch unless given. */
export interface PullRequestSeed {
  number: number;
  headSha: string;
  headRef?: string;
  baseRef?: string;
  /** A fork's `owner/name`. */
  headRepoFullName?: string;
}

export interface RunOptions {
  /** Environment over the runner's (a push's `GITHUB_EVENT_NAME`, an input given as `INPUT_…`). */
  env?: NodeJS.ProcessEnv;
  /** Another checkout than the file's workspace. */
  workspace?: string;
  /** Another repository (`owner/name`) than the seeded one. */
  repository?: string;
  /** Node options before the bundle (a runner gives none). */
  nodeArgs?: string[];
}

export interface PreviewEnv {
  /** This test's local platform (unless `local: false`). */
  local: LocalPlatform;
  /** This test's forge, with the repository (and pull request) seeded. */
  forge: TestForge;
  flavor: ForgeFlavor;
  owner: string;
  repo: string;
  /** The checkout the runs use (the file's). */
  workspace: string;
  /** Every log, summary and outputs of every run, for the secret search (more may be added, e.g. an app's log). */
  captured: string[];
  /** Runs the action bundle as a runner does, with this test's platform, forge and workspace. */
  run(event: Json, inputs?: Record<string, string>, options?: RunOptions): Promise<ActionRun>;
  /** Opens a pull request on the seeded repository. */
  openPullRequest(pr: PullRequestSeed): void;
  /** GitHub's pull_request payload for this forge (Gitea spells `synchronize` its own way). */
  pullRequestEvent(action: string, headSha: string, options?: { fork?: boolean; number?: number }): Json;
  /** A deployment's status on the local platform, read over its API: `HEALTHY`, `DELETED`. */
  deploymentStatus(id: string): Promise<string>;
}

/**
 * The world of the action's end-to-end tests: for each test a local platform (quick status steps)
 * and a test forge of the given flavour with the repository seeded, a workspace with agents for the
 * whole file, and `run` bound to them. At the end of the file, nothing a person would see (the job
 * log as shown, summaries, outputs) and nothing the forge keeps holds the key, the token or any of
 * `secrets`. Call it inside the `describe` it serves (its hooks belong there).
 */
export function usePreviewEnv(options: PreviewEnvOptions): PreviewEnv {
  const { owner, name: repo, defaultBranch } = options.repo ?? { owner: 'Codertocat', name: 'Hello-World', defaultBranch: 'master' };
  const flavor = options.flavor ?? 'github';
  const forgeTexts: string[] = [];
  const env = { flavor, owner, repo, captured: [] as string[] } as PreviewEnv;

  beforeAll(async () => {
    env.workspace = await mkdtemp(path.join(tmpdir(), 'ap-preview-env-'));
    await (options.workspace ?? ((dir) => cp(HELLO_AGENT, path.join(dir, 'agents', 'hello'), { recursive: true })))(env.workspace);
  });
  beforeEach(async () => {
    if (options.local !== false) {
      const chosen = typeof options.local === 'function' ? options.local() : options.local;
      env.local = await startLocalPlatform({ apiKey: options.apiKey, buildStepMs: 20, deployStepMs: 30, ...chosen });
    }
    env.forge = await startTestForge({ flavor, token: options.token, ...options.forge });
    env.forge.seedRepo(owner, repo, { defaultBranch });
    if (options.pull) env.openPullRequest(options.pull);
  });
  afterEach(async () => {
    forgeTexts.push(...env.forge.storedTexts());
    await Promise.all([env.forge.close(), options.local === false ? undefined : env.local.close()]);
  });
  afterAll(async () => {
    await rm(env.workspace, { recursive: true, force: true });
    const secrets = [options.apiKey, options.token, ...(options.secrets?.() ?? [])].filter(Boolean);
    expect([...shownText(env.captured), ...forgeTexts].filter((text) => secrets.some((secret) => text.includes(secret)))).toEqual([]);
    clearSecrets();
  });

  env.run = (event, inputs = {}, run = {}) =>
    runActionBundle(
      {
        forge: env.forge,
        platformUrl: options.local === false ? '' : env.local.url,
        apiKey: options.apiKey,
        token: options.token,
        repository: run.repository ?? `${owner}/${repo}`,
        workspace: run.workspace ?? env.workspace,
        captured: env.captured,
        nodeArgs: run.nodeArgs,
        ...options.setup?.(),
      },
      event,
      inputs,
      run.env,
    );
  env.openPullRequest = (pr) => env.forge.seedPullRequest(owner, repo, { headRef: 'changes', baseRef: defaultBranch, ...pr });
  env.pullRequestEvent = (action, headSha, event = {}) => pullRequestEvent(action, headSha, { ...event, gitea: flavor === 'gitea' });
  env.deploymentStatus = async (id) => {
    const response = await fetch(`${env.local.url}/v5/agentex/deployments/${id}`, { headers: { 'x-api-key': options.apiKey } });
    return String(((await response.json()) as Json).status).toUpperCase();
  };
  return env;
}
