import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CRASH_MARKER } from '../../src/local-platform/index.js';
import { HELLO_AGENT } from '../support/agents.js';
import { startHostileProxy, type HostileProxy } from '../support/hostile-proxy.js';
import { usePreviewEnv } from '../support/preview-env.js';
import type { ActionRun, ExecutedCommand } from '../support/runner.js';

const API_KEY = 'sk-e2e-injection-Zq81LmZ0pW3xYv';
const TOKEN = 'ghs_e2eInjectionToken0123456789abcdefAB';

/** Adds a copy of hello-agent named `name` to the workspace, its Dockerfile changed by `change`. */
async function addAgent(workspace: string, name: string, change: (dockerfile: string) => string = (text) => text): Promise<void> {
  const dir = path.join(workspace, 'agents', name);
  await cp(HELLO_AGENT, dir, { recursive: true });
  const manifest = path.join(dir, 'manifest.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('name: hello-agent', `name: ${name}`));
  const dockerfile = path.join(dir, 'Dockerfile');
  await writeFile(dockerfile, change(await readFile(dockerfile, 'utf8')));
}

/** Commands the runner ran that the action did not issue: any that carries an injected marker. */
function injected(commands: ExecutedCommand[]): ExecutedCommand[] {
  return commands.filter((command) => /hostile|evil\.example|injected/i.test(`${command.name} ${JSON.stringify(command.properties)} ${command.data}`));
}

describe.each(['github', 'gitea'] as const)('workflow commands in untrusted text, on %s', (flavor) => {
  let proxy: HostileProxy;
  const env = usePreviewEnv({
    apiKey: API_KEY,
    token: TOKEN,
    flavor,
    pull: { number: 9, headSha: 'e'.repeat(40) },
    // The platform's answers reach the runs through a proxy that writes workflow commands into every text they carry.
    setup: () => ({ platformUrl: proxy.url }),
    workspace: async (dir) => {
      await addAgent(dir, 'hello-agent');
      // Its deployment crashes, so the run prints the runtime logs and deploy events of the failure.
      await addAgent(dir, 'crashy-agent', (text) => `${text}\n${CRASH_MARKER}\n`);
    },
  });
  beforeEach(async () => {
    proxy = await startHostileProxy(env.local.url);
  });
  afterEach(() => proxy.close());

  function run(inputs: Record<string, string> = {}): Promise<ActionRun> {
    return env.run(env.pullRequestEvent('opened', 'e'.repeat(40), { number: 9 }), inputs);
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
    const dir = path.join(env.workspace, 'agents', 'hostile-name');
    await cp(HELLO_AGENT, dir, { recursive: true });
    const manifest = path.join(dir, 'manifest.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('name: hello-agent', `name: "::set-output name=preview-url::https://evil.example/name"`));
    try {
      const result = await run();
      expect(result.code).toBe(1);
      expect(result.log).toMatch(/agent\.name/);
      expect(injected(result.commands).filter((command) => command.name !== 'error')).toEqual([]);
      expect(result.outputs['preview-url']).toBeUndefined();
      expect(env.local.requests).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
