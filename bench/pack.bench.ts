// Packing vs GNU tar + gzip -6 and vs tar | pigz -p <cores> -6 (parallel gzip, the real limit on a
// few cores), with peak RSS; and working_tree_hash vs sha256sum, over the same files.
import { spawn, spawnSync } from 'node:child_process';
import { rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { collectContext } from '../src/context/collect.js';
import { loadManifest } from '../src/context/manifest.js';
import { packContext } from '../src/context/pack.js';
import { workingTreeHash } from '../src/context/tree-hash.js';
import { machine, median, report, sideBySide, time } from './support.js';
import { generateAgentTree } from './tree.js';

function sh(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

// Child mode: pack once in a fresh process and print its peak RSS (the kernel's ru_maxrss).
if (process.argv[2] === 'pack-child') {
  await packContext(await loadManifest(process.argv[3]), { outFile: process.argv[4] });
  console.log(`MAXRSS_KB ${process.resourceUsage().maxRSS}`);
  process.exit(0);
}

const files = Number(process.env.BENCH_FILES ?? 20_000);
const totalBytes = Number(process.env.BENCH_BYTES ?? 200 * 2 ** 20);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const cores = availableParallelism();
const hasPigz = spawnSync('pigz', ['--version'], { stdio: 'ignore' }).status === 0;
console.log(
  `machine: ${machine()}; load average at start ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')}`,
);
if (!hasPigz) console.log('pigz is NOT installed (apt-get install -y pigz): the tar | pigz baseline is skipped');
console.log(`generating ${files} files, ${(totalBytes / 2 ** 20).toFixed(0)} MB (60% binary) + 2,000 ignored node_modules files ...`);
const tree = await generateAgentTree({ files, totalBytes, binaryShare: 0.6, ignoredFiles: 2000 });
try {
  const manifest = await loadManifest(tree.manifest);
  const entries = await collectContext(manifest);
  // The same members, for the baselines: the staged Dockerfile/.dockerignore live at the root already.
  const list = path.join(tree.root, 'members.txt');
  await writeFile(list, `${entries.map((entry) => path.relative(tree.root, entry.source)).join('\0')}\0`);
  const archives = { ours: path.join(tree.root, 'ours.tar.gz'), tar: path.join(tree.root, 'tar.tar.gz'), pigz: path.join(tree.root, 'pigz.tar.gz') };

  // Alternating runs (ours, tar -cz, tar | pigz, ours, ...), so load on a shared machine hits all alike.
  const times = { ours: [] as number[], tar: [] as number[], pigz: [] as number[] };
  for (let run = 0; run < runs; run++) {
    times.ours.push((await time(() => packContext(manifest, { outFile: archives.ours }))).ms);
    times.tar.push((await time(() => sh('tar', ['--null', '-T', list, '-I', 'gzip -6', '-cf', archives.tar], tree.root))).ms);
    if (hasPigz) {
      times.pigz.push((await time(() => sh('sh', ['-c', `tar --null -T members.txt -cf - | pigz -p ${cores} -6 > pigz.tar.gz`], tree.root))).ms);
    }
    console.log(
      `run ${run + 1}: ours ${times.ours[run].toFixed(0)} ms, tar -cz ${times.tar[run].toFixed(0)} ms${hasPigz ? `, tar | pigz ${times.pigz[run].toFixed(0)} ms` : ''} (load ${loadavg()[0].toFixed(1)})`,
    );
  }
  const sizes = { ours: (await stat(archives.ours)).size, tar: (await stat(archives.tar)).size, pigz: hasPigz ? (await stat(archives.pigz)).size : 0 };
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  console.log(`archives: ours ${mb(sizes.ours)}, tar+gzip -6 ${mb(sizes.tar)}${hasPigz ? `, tar | pigz -6 ${mb(sizes.pigz)}` : ''}, ${entries.length} members`);
  const ours = median(times.ours);
  report({ bench: 'packing', metric: 'time to tar.gz', ours, baseline: median(times.tar), unit: 'ms', goal: 'ratio ≤ 1.0 vs GNU tar -cz', met: ours / median(times.tar) <= 1.0 });
  if (hasPigz) {
    const sizeRatio = sizes.ours / sizes.pigz;
    console.log(`archive size vs tar | pigz: ${((sizeRatio - 1) * 100).toFixed(2)} %`);
    report({
      bench: 'packing',
      metric: `time to tar.gz vs tar | pigz -p ${cores}`,
      ours,
      baseline: median(times.pigz),
      unit: 'ms',
      goal: `ratio ≤ 1.2 vs tar | pigz -p ${cores} -6, size within 1 %`,
      met: ours / median(times.pigz) <= 1.2 && Math.abs(sizeRatio - 1) <= 0.01,
    });
  }

  const child = spawnSync(process.execPath, [process.argv[1], 'pack-child', tree.manifest, archives.ours], { encoding: 'utf8' });
  const peakKb = Number(/MAXRSS_KB (\d+)/.exec(child.stdout)?.[1] ?? NaN);
  const bare = spawnSync(process.execPath, ['-e', 'console.log(process.resourceUsage().maxRSS)'], { encoding: 'utf8' });
  report({
    bench: 'packing',
    metric: 'peak RSS while packing',
    ours: peakKb / 1024,
    baseline: Number(bare.stdout) / 1024,
    unit: 'MB',
    goal: 'under 150 MB',
    met: peakKb / 1024 < 150,
  });

  const hash = await sideBySide(
    3,
    () => workingTreeHash(entries),
    () => sh('sh', ['-c', `xargs -0 -a members.txt sha256sum > /dev/null`], tree.root),
  );
  report({ bench: 'tree hash', metric: 'working_tree_hash', ours: hash.a, baseline: hash.b, unit: 'ms', goal: 'ratio ≤ 1.25 vs sha256sum', met: hash.a / hash.b <= 1.25 });
} finally {
  await rm(tree.root, { recursive: true, force: true });
}
