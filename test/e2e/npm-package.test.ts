import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/agents.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  // npm_* variables from the `npm test` that started jest would point npm at this checkout.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };

let work: string;
let project: string;
let packed: { filename: string; files: { path: string }[] };

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'ap-npm-package-'));
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], REPO_ROOT);
  expect(pack.stderr).not.toMatch(/npm error/);
  [packed] = JSON.parse(pack.stdout);
  project = path.join(work, 'project');
  await run('mkdir', [project], work);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', private: true }));
  // --offline: the package must install from the tarball alone, with nothing fetched from a registry.
  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(work, packed.filename)], project);
  expect(install).toMatchObject({ code: 0 });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the npm package, packed and installed into an empty project', () => {
  it('declares no runtime dependencies: the bundles carry them, so installing fetches nothing (add packages with --save-dev)', () => {
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('ships the CLI and app bundles (the Probot entry included) with their notices, the examples the demo and the README use, the license and the manifest, and no sources', () => {
    const files = packed.files.map((file) => file.path).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'CHANGELOG.md',
        'app.yml',
        'package.json',
        'dist/cli/index.js',
        'dist/cli/THIRD_PARTY_NOTICES',
        'dist/app/probot.js',
        'dist/app/THIRD_PARTY_NOTICES',
        'examples/hello-agent/manifest.yaml',
        'examples/hello-agent/environments.yaml',
        'examples/hello-agent/Dockerfile',
        'examples/hello-agent/.dockerignore',
        'examples/hello-agent/project/acp.py',
        'examples/workflows/preview.yml',
      ]),
    );
    expect(files.filter((file) => /^(src|test|bench|node_modules)\//.test(file) || file.startsWith('dist/action/'))).toEqual([]);
  });

  it('npx agent-preview --help prints the usage and exits 0', async () => {
    const help = await run('npx', ['--offline', '--no-install', 'agent-preview', '--help'], project);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: agent-preview /);
    expect(help.stdout).toContain('deploy');
  });

  it('npx agent-preview --version prints the package version and exits 0', async () => {
    const version = await run('npx', ['--offline', '--no-install', 'agent-preview', '--version'], project);
    expect(version).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  it('npx agent-preview demo runs the whole preview flow from the installed package and exits 0', async () => {
    const demo = await run('npx', ['--offline', '--no-install', 'agent-preview', 'demo'], project);
    expect(demo.stderr).not.toContain('error:');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/→ 200 "hello-agent preview"/);
    expect(demo.stdout).toContain('no previews left behind');
  });
});
