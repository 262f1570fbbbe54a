// The layout `agentex init` writes (`root: ../`, the agent folder as the one include path) packs as
// the SDK stages it, wherever the agent folder is the whole workspace: outside any git work tree, as
// GITHUB_WORKSPACE on a runner (a repository named after the agent), or as a git checkout of its own.
//
// The expected listing and hash come from running the SDK's own code on this fixture plus the two
// files written below: scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0
// src/agentex/lib/sdk/config/agent_manifest.py `BuildContextManager` (build_context_root resolved as
// src/agentex/lib/cli/handlers/agent_handlers.py line 60 does) and
// src/agentex/lib/utils/build_provenance.py `iter_context_files` and `working_tree_hash`, with only
// its logging and YAML helpers stubbed.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list } from 'tar';
import { REPO_ROOT } from '../../support/agents.js';
import { runCli } from '../../support/io.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'agentex-init', 'my_agent');
const SDK_MEMBERS = [
  '.dockerignore',
  'Dockerfile',
  'my_agent/.dockerignore',
  'my_agent/Dockerfile',
  'my_agent/README.md',
  'my_agent/dev.ipynb',
  'my_agent/environments.yaml',
  'my_agent/manifest.yaml',
  'my_agent/project/__init__.py',
  'my_agent/project/acp.py',
  'my_agent/requirements.txt',
];
const SDK_HASH = 'f50fad8dbbba22f83d7f2b0a9399d0e96e17e49f880c8e45af26ceaa7994f697';

const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** `<parent>/my_agent/`, as `agentex init` leaves it, with a local .env and bytecode the template's .dockerignore keeps out. */
async function initLayout(parentName = 'work'): Promise<string> {
  const outer = await mkdtemp(path.join(tmpdir(), 'ap-agentex-init-'));
  made.push(outer);
  const agent = path.join(outer, parentName, 'my_agent');
  await mkdir(path.dirname(agent), { recursive: true });
  await cp(FIXTURE, agent, { recursive: true });
  await mkdir(path.join(agent, 'project', '__pycache__'));
  await writeFile(path.join(agent, 'project', '__pycache__', 'acp.cpython-312.pyc'), 'bytecode\n');
  await writeFile(path.join(agent, '.env'), 'LITELLM_API_KEY=sk-local-only\n');
  // A sibling the root `../` reaches, which nothing includes: it must not be read, let alone packed.
  await mkdir(path.join(outer, parentName, 'other-project'));
  await writeFile(path.join(outer, parentName, 'other-project', 'credentials.json'), '{"private_key":"x"}');
  return agent;
}

async function packAt(agent: string, env: NodeJS.ProcessEnv): Promise<{ members: string[]; hash: string }> {
  const output = path.join(path.dirname(agent), 'context.tar.gz');
  const run = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const members: string[] = [];
  await list({ file: output, onReadEntry: (entry) => members.push(entry.path) });
  return { members, hash: (JSON.parse(run.stdout) as { workingTreeHash: string }).workingTreeHash };
}

describe('pack of the `agentex init` layout (root: ../) matches the SDK', () => {
  it('outside any git work tree', async () => {
    const agent = await initLayout();
    expect(await packAt(agent, {})).toEqual({ members: SDK_MEMBERS, hash: SDK_HASH });
  });

  it('on a runner, whose GITHUB_WORKSPACE is the repository named after the agent', async () => {
    const agent = await initLayout('my_agent');
    execFileSync('git', ['init', '-q', agent]);
    expect(await packAt(agent, { GITHUB_WORKSPACE: agent })).toEqual({ members: SDK_MEMBERS, hash: SDK_HASH });
  });

  it('in a git checkout of the agent folder alone', async () => {
    const agent = await initLayout();
    execFileSync('git', ['init', '-q', agent]);
    expect(await packAt(agent, {})).toEqual({ members: SDK_MEMBERS, hash: SDK_HASH });
  });

  it('still refuses an include path the root reaches outside the workspace, naming the field', async () => {
    const agent = await initLayout();
    const manifest = path.join(agent, 'manifest.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('      - my_agent\n', '      - my_agent\n      - other-project\n'));
    const run = await runCli(['pack', '-m', agent, '-o', path.join(agent, '..', 'x.tar.gz')], { env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/manifest\.yaml:\d+.*build\.context\.include_paths\.1.*"other-project" is .*other-project, outside the manifest's folder .*my_agent/);
  });
});
