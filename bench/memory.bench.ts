// Peak RSS while packing and uploading a 400 MB context to the local platform (run in another
// process so its memory is not counted), against a bare Node process's RSS.
import { spawn, spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadManifest } from '../src/context/manifest.js';
import { packContext } from '../src/context/pack.js';
import { createPlatform } from '../src/platforms/index.js';
import { machine, report } from './support.js';
import { generateAgentTree } from './tree.js';

console.log(`machine: ${machine()}`);
const totalBytes = Number(process.env.BENCH_MEMORY_BYTES ?? 400 * 2 ** 20);
const server = spawn(process.execPath, ['dist/cli/index.js', 'local-platform', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const url = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: server.stdout! });
  lines.on('line', (line) => {
    const match = /listening on (\S+)/.exec(line);
    if (match) resolve(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`local platform exited ${code}`)));
});

const tree = await generateAgentTree({ files: 400, totalBytes, binaryShare: 0.95, ignoredFiles: 0 });
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
try {
  const manifest = await loadManifest(tree.manifest);
  const packed = await packContext(manifest);
  const platform = createPlatform({ platform: 'local', apiUrl: url });
  const build = await platform.createBuild({
    agentName: manifest.agent.name,
    archivePath: packed.archivePath,
    archiveBytes: packed.archiveBytes,
    treeHash: packed.treeHash,
    imageName: manifest.image.name,
    imageTag: manifest.image.tag,
  });
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`uploaded ${(packed.archiveBytes / 2 ** 20).toFixed(0)} MB archive as build ${build.id}`);
  await packed.dispose();
} finally {
  clearInterval(sampler);
  server.kill();
  await rm(tree.root, { recursive: true, force: true });
}
const bare = spawnSync(process.execPath, ['-e', 'console.log(process.memoryUsage().rss)'], { encoding: 'utf8' });
const bareRss = Number(bare.stdout.trim());
const mb = (bytes: number) => bytes / 2 ** 20;
report({ bench: 'memory', metric: `peak RSS, pack + upload ${mb(totalBytes).toFixed(0)} MB`, ours: mb(peak), baseline: mb(bareRss), unit: 'MB', goal: 'under 150 MB', met: mb(peak) < 150 });
