import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CRASH_MARKER, startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { HELLO_AGENT } from '../support/agents.js';
import { startTestForge, type TestForge } from '../support/forge/server.js';
import { startHostileProxy, type HostileProxy } from '../support/hostile-proxy.js';
import { pullRequestEvent, runActionBundle, type ActionRun, type ExecutedCommand } from '../support/runner.js';

const API_KEY = 'sk-e2e-injection-Zq81LmZ0pW3xYv';
const TOKEN = 'ghs_e2eInjectionToken0123456789abcdefAB';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';

let local: LocalPlatform;
let proxy: HostileProxy;
let workspace: string;
const captured: string[] = [];

async function addAgent(name: string, change: (dockerfile: string) => string = (text) => text): Promise<void> {
  const dir = path.join(workspace, 'agents', name);
  await cp(HELLO_AGENT, dir, { recursive: true });
  const manifest = path.join(dir, 'manifest.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('name: hello-agent', `name: ${name}`));
  const dockerfile = path.join(dir, 'Dockerfile');
  await writeFile(dockerfile, change(await readFile(dockerfile, 'utf8')));
}

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'ap-injection-'));
  await addAgent('hello-agent');
  // Its deployment crashes, so the run prints the runtime logs and deploy events of the failure.
  await addAgent('crashy-agent', (text) => `${text}\n${CRASH_MARKER}\n`);
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: API_KEY, buildStepMs: 20, deployStepMs: 30 });
  proxy = await startHostileProxy(local.url);
});

afterEach(async () => {
  await proxy.close();
  await local.close();
});

/** Commands the runner ran that the action did not issue: any that carries an injected marker. */
function injected(commands: ExecutedCommand[]): ExecutedCommand[] {
  return commands.filter((command) => /hostile|evil\.example|injected/i.test(`${command.name} ${JSON.stringify(command.properties)} ${command.data}`));
}

describe.each(['github', 'gitea'] as const)('workflow commands in untrusted text, on %s', (flavor) => {
  let forge: TestForge;
  beforeEach(async () => {
    forge = await startTestForge({ flavor, token: TOKEN });
    forge.seedRepo(OWNER, REPO, { defaultBranch: 'master' });
    forge.seedPullRequest(OWNER, REPO, { number: 9, headSha: 'e'.repeat(40), headRef: 'changes', baseRef: 'master' });
  });
  afterEach(async () => forge.close());

  function run(inputs: Record<string, string> = {}): Promise<ActionRun> {
    return runActionBundle(
      { forge, platformUrl: proxy.url, apiKey: API_KEY, token: TOKEN, repository: `${OWNER}/${REPO}`, workspace, captured },
      pullRequestEvent('opened', 'e'.repeat(40), { gitea: flavor === 'gitea', number: 9 }),
      inputs,
    );
  }

  it('build logs, runtime logs and deploy events reach the job log, and none of their commands runs', async () => {
    const result = await run();
    expect(result.code).toBe(1);
    // The untrusted text is shown to the reader...
    for (const source of ['build-log', 'runtime-log', 'deploy-event']) expect(result.log).toContain(`::add-mask::hostile-${source}`);
    // ...and nothing in it ran: no output, mask, variable or annotation of theirs.
    expect(injected(result.commands)).toEqual([]);
    expect(result.outputs['preview-url'] ?? '').not.toMatch(/evil/);
    expect(Object.keys(result.outputs).filter((name) => name.startsWith('injected'))).toEqual([]);
    // The action's own commands still ran: its masks, groups and the failure annotation.
    const names = result.commands.map((command) => command.name);
    expect(names).toEqual(expect.arrayContaining(['add-mask', 'group', 'endgroup', 'error']));
    expect(result.commands.filter((command) => command.name === 'add-mask').map((command) => command.data)).toEqual(expect.arrayContaining([API_KEY]));
    const agents = JSON.parse(result.outputs.agents) as Record<string, string>[];
    expect(agents.map((agent) => [agent.agent, agent.status]).sort()).toEqual([
      ['crashy-agent', 'failed'],
      ['hello-agent', 'healthy'],
    ]);
    expect(agents.find((agent) => agent.agent === 'hello-agent')!['preview-url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/previews\//);
  });

  it('an agent name carrying a workflow command is refused before any request, and runs nothing', async () => {
    const dir = path.join(workspace, 'agents', 'hostile-name');
    await cp(HELLO_AGENT, dir, { recursive: true });
    const manifest = path.join(dir, 'manifest.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('name: hello-agent', `name: "::set-output name=preview-url::https://evil.example/name"`));
    try {
      const result = await run();
      expect(result.code).toBe(1);
      expect(result.log).toMatch(/agent\.name/);
      expect(injected(result.commands).filter((command) => command.name !== 'error')).toEqual([]);
      expect(result.outputs['preview-url']).toBeUndefined();
      expect(local.requests).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
