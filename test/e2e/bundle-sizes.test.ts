// The bundle sizes the documentation states (docs/benchmarks.md) are the committed bundles' (issue 27: the README's were
// stale). Rebuild (`npm run build`) before running, as for every e2e test; off by more than 10 % is stale.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../support/agents.js';

const STATED = /Bundle sizes \(`npm run build`, [^)]*\): action ([\d.]+) MB, app ([\d.]+) MB, CLI ([\d.]+) MB/;
const BUNDLES = ['action/index.js', 'app/index.js', 'cli/index.js'];

it('the README (or docs/) states the size of each bundle (action, app, CLI) within 10 %', async () => {
  const docs = await readdir(path.join(REPO_ROOT, 'docs')).catch(() => [] as string[]);
  const texts = await Promise.all(
    ['README.md', ...docs.filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)].map((file) => readFile(path.join(REPO_ROOT, file), 'utf8')),
  );
  const stated = texts.map((text) => STATED.exec(text)).find(Boolean);
  expect(stated).toBeDefined();
  const stale: string[] = [];
  for (const [index, bundle] of BUNDLES.entries()) {
    const built = (await stat(path.join(REPO_ROOT, 'dist', bundle))).size / 1e6;
    const said = Number(stated![index + 1]);
    if (Math.abs(said - built) > built * 0.1) stale.push(`${bundle}: stated ${said} MB, built ${built.toFixed(2)} MB`);
  }
  expect(stale).toEqual([]);
});

// One byte above 0x7F makes Node decode a whole bundle into a two-byte string: a slower start (scripts/ascii-bundles.mjs).
it('every bundle is pure ASCII', async () => {
  const bundles = [...BUNDLES, 'app/lambda.js', 'app/probot.js'];
  const texts = await Promise.all(bundles.map((bundle) => readFile(path.join(REPO_ROOT, 'dist', bundle), 'latin1')));
  expect(bundles.filter((_bundle, index) => /[\x80-\xff]/.test(texts[index]))).toEqual([]);
});
