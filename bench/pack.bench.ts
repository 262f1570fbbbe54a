// Packing vs GNU tar + gzip -6, and working_tree_hash vs sha256sum, over the same files.
import { spawn } from 'node:child_process';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collectContext } from '../src/context/collect.js';
import { loadManifest } from '../src/context/manifest.js';
import { packContext } from '../src/context/pack.js';
import { workingTreeHash } from '../src/context/tree-hash.js';
import { machine, report, sideBySide } from './support.js';
import { generateAgentTree } from './tree.js';

function sh(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

const files = Number(process.env.BENCH_FILES ?? 20_000);
const totalBytes = Number(process.env.BENCH_BYTES ?? 200 * 2 ** 20);
console.log(`machine: ${machine()}`);
console.log(`generating ${files} files, ${(totalBytes / 2 ** 20).toFixed(0)} MB (60% binary) + 2,000 ignored node_modules files ...`);
const tree = await generateAgentTree({ files, totalBytes, binaryShare: 0.6, ignoredFiles: 2000 });
try {
  const manifest = await loadManifest(tree.manifest);
  const entries = await collectContext(manifest);
  // The same members, for the baselines: the staged Dockerfile/.dockerignore live at the root already.
  const list = path.join(tree.root, 'members.txt');
  await writeFile(list, `${entries.map((entry) => path.relative(tree.root, entry.source)).join('\0')}\0`);
  const ourArchive = path.join(tree.root, 'ours.tar.gz');
  const tarArchive = path.join(tree.root, 'tar.tar.gz');

  const pack = await sideBySide(
    3,
    () => packContext(manifest, { outFile: ourArchive }),
    () => sh('tar', ['--null', '-T', list, '-I', 'gzip -6', '-cf', tarArchive], tree.root),
  );
  const ourSize = (await stat(ourArchive)).size;
  const tarSize = (await stat(tarArchive)).size;
  console.log(`archives: ours ${(ourSize / 2 ** 20).toFixed(1)} MB, tar+gzip -6 ${(tarSize / 2 ** 20).toFixed(1)} MB, ${entries.length} members`);
  report({ bench: 'packing', metric: 'time to tar.gz', ours: pack.a, baseline: pack.b, unit: 'ms', goal: 'ratio ≤ 1.0 vs GNU tar -cz', met: pack.a / pack.b <= 1.0 });

  const hash = await sideBySide(
    3,
    () => workingTreeHash(entries),
    () => sh('sh', ['-c', `xargs -0 -a members.txt sha256sum > /dev/null`], tree.root),
  );
  report({ bench: 'tree hash', metric: 'working_tree_hash', ours: hash.a, baseline: hash.b, unit: 'ms', goal: 'ratio ≤ 1.25 vs sha256sum', met: hash.a / hash.b <= 1.25 });
} finally {
  await rm(tree.root, { recursive: true, force: true });
}
