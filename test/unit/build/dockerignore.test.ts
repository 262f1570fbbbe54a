// The root .dockerignore keeps `docker build -f Dockerfile.app .` to what the Dockerfile copies, read
// with Docker's own rule as @balena/dockerignore implements it (moby's fileutils), the library the packer uses.
import * as dockerignoreModule from '@balena/dockerignore';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../support/agents.js';

type Ignore = { add(patterns: string[]): Ignore; ignores(file: string): boolean };
const moduleValue = dockerignoreModule as unknown as { default?: (() => Ignore) | { default?: () => Ignore } };
const createIgnore: () => Ignore = typeof moduleValue.default === 'function' ? moduleValue.default : (moduleValue.default?.default ?? (moduleValue as unknown as () => Ignore));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(REPO_ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

it('sends what Dockerfile.app copies from the context, and not node_modules, .git, dist, tests or benchmarks', async () => {
  const rules = createIgnore().add((await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8')).split('\n'));
  const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile.app'), 'utf8');
  // `COPY <source>... <destination>` lines that read the build context (not another stage).
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(/\s+/));
  expect(sources.sort()).toEqual(['package-lock.json', 'package.json', 'scripts', 'src', 'tsconfig.json']);
  const needed = (await Promise.all(sources.map(async (source) => ((await readdir(path.join(REPO_ROOT, source)).catch(() => undefined)) ? filesUnder(source) : [source])))).flat();
  expect(needed.filter((file) => rules.ignores(file))).toEqual([]);

  const elsewhere = [
    'node_modules/probot/package.json',
    '.git/config',
    '.git/HEAD',
    'dist/app/index.js',
    'test/e2e/action.test.ts',
    'bench/run.mjs',
    'examples/hello-agent/Dockerfile',
    'README.md',
    '.env',
  ];
  expect(elsewhere.filter((file) => !rules.ignores(file))).toEqual([]);
});
