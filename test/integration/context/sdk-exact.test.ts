// `--sdk-exact` (CLI) and `sdk-exact` (action) reach the packer: the build the platform records
// carries the SDK's working_tree_hash. Vectors as in test/unit/context/sdk-rules.test.ts.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readInputs } from '../../../src/action/inputs.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';

const platform = useLocalPlatform('sk-sdkexact-Hn4Vb7Kq');
const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function agent(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-sdk-exact-'));
  made.push(root);
  const files: Record<string, string> = {
    Dockerfile: 'FROM python:3.12\nCOPY project /app\n',
    '.dockerignore': '**/__pycache__\n*.log\n',
    'project/app.py': "print('hi')\n",
    'project/debug.log': 'noise\n',
    'project/pkg/mod.py': 'x = 1\n',
    'project/pkg/__pycache__/mod.cpython-312.pyc': 'bytecode\n',
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  await writeFile(
    path.join(root, 'manifest.yaml'),
    'build:\n  context:\n    root: .\n    include_paths: [project]\n    dockerfile: Dockerfile\n    dockerignore: .dockerignore\nagent:\n  name: sdk-exact\n',
  );
  return root;
}

it('build --sdk-exact uploads the SDK-staged context with the SDK hash; without it, the smaller one', async () => {
  const dir = await agent();
  const exact = await runCli(['--json', 'build', '-m', dir, '--sdk-exact', '--poll-interval', '0.1s'], { env: platform.env });
  expect(exact.code).toBe(0);
  expect(JSON.parse(exact.stdout)[0]).toMatchObject({ treeHash: '45062795a99e098acb841f501292f82cd1bcc3d0121be54740753be2879e215a', status: 'built' });
  const usual = await runCli(['--json', 'build', '-m', dir, '--poll-interval', '0.1s'], { env: platform.env });
  expect(JSON.parse(usual.stdout)[0]).toMatchObject({ treeHash: '6a2338cfbd020150234c53ebe6db528bd08e6bd8068b97e9473db69c9795632f', buildReused: false });
  expect(platform.local.builds().map((build) => build.working_tree_hash)).toEqual([
    '45062795a99e098acb841f501292f82cd1bcc3d0121be54740753be2879e215a',
    '6a2338cfbd020150234c53ebe6db528bd08e6bd8068b97e9473db69c9795632f',
  ]);
});

it('the action reads sdk-exact as a boolean, false by default', async () => {
  expect((await readInputs({}, '/repo')).sdkExact).toBe(false);
  expect((await readInputs({ 'INPUT_SDK-EXACT': 'true' }, '/repo')).sdkExact).toBe(true);
  await expect(readInputs({ 'INPUT_SDK-EXACT': 'sometimes' }, '/repo')).rejects.toThrow(/sdk-exact.*not true or false/);
});
