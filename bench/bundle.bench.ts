// What each committed bundle carries: its size, and how many copies of undici are in it and how many
// bytes they take. Reads dist/ as built (`npm run build` first): esbuild marks the start of every
// bundled module with a `// node_modules/<package>/<file>` comment, which this splits on.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { machine, report } from './support.js';

console.log(`machine: ${machine()}`);

const BUNDLES = ['action/index.js', 'app/index.js', 'cli/index.js'];

for (const bundle of BUNDLES) {
  const text = await readFile(path.join('dist', bundle), 'utf8');
  const bytesByPackage = new Map<string, number>();
  const marker = /^\/\/ (\S+)$/gm;
  const starts = [...text.matchAll(marker)].map((match) => ({ at: match.index, file: match[1] }));
  starts.forEach((start, index) => {
    const end = starts[index + 1]?.at ?? text.length;
    const packageDir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(start.file)?.[1] ?? '(ours)';
    bytesByPackage.set(packageDir, (bytesByPackage.get(packageDir) ?? 0) + Buffer.byteLength(text.slice(start.at, end)));
  });
  const undici = [...bytesByPackage].filter(([dir]) => /(^|\/)node_modules\/undici$/.test(dir));
  const undiciBytes = undici.reduce((sum, [, bytes]) => sum + bytes, 0);
  const size = Buffer.byteLength(text);
  console.log(`${bundle}: ${(size / 1e6).toFixed(2)} MB; undici copies: ${undici.map(([dir, bytes]) => `${dir} ${(bytes / 1e6).toFixed(2)} MB`).join(', ') || 'none'}`);
  report({ bench: 'bundles', metric: `${bundle} undici copies`, ours: undici.length, baseline: 1, unit: 'copies', goal: 'exactly one undici', met: undici.length === 1 });
  report({
    bench: 'bundles',
    metric: `${bundle} size`,
    ours: size / 1e6,
    baseline: undiciBytes / 1e6,
    unit: 'MB (baseline: undici bytes in it)',
    goal: 'none (reported)',
    met: true,
  });
}
