// Peak RSS of the CLI while it packs a 400 MB context and uploads it to the local platform (each
// in its own process, so neither the generator nor the server is counted), against the peak RSS
// of a bare Node process. Peaks are read from /proc/<pid>/status VmHWM, the kernel's high-water mark.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { machine, report } from './support.js';
import { generateAgentTree } from './tree.js';

async function peakRssOf(args: string[]): Promise<{ peakMb: number; code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let peakKb = 0;
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((running = false), resolve(code))));
  while (running) {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    if (match) peakKb = Math.max(peakKb, Number(match[1]));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { peakMb: peakKb / 1024, code: await exited, output };
}

console.log(`machine: ${machine()}`);
const totalBytes = Number(process.env.BENCH_MEMORY_BYTES ?? 400 * 2 ** 20);
const server = spawn(process.execPath, ['dist/cli/index.js', 'local-platform', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const url = await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout! }).on('line', (line) => {
    const match = /listening on (\S+)/.exec(line);
    if (match) resolve(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`local platform exited ${code}`)));
});
const tree = await generateAgentTree({ files: 400, totalBytes, binaryShare: 0.95, ignoredFiles: 0 });
try {
  const ours = await peakRssOf(['dist/cli/index.js', '--platform', 'local', '--api-url', url, '--quiet', 'build', '-m', tree.manifest, '--poll-interval', '0.5s']);
  if (ours.code !== 0) throw new Error(`the build failed:\n${ours.output}`);
  console.log(
    ours.output
      .split('\n')
      .filter((line) => /uploading|✔/.test(line))
      .join('\n'),
  );
  const bare = await peakRssOf(['-e', 'setTimeout(() => {}, 200)']);
  report({
    bench: 'memory',
    metric: `peak RSS, pack + upload ${(totalBytes / 2 ** 20).toFixed(0)} MB`,
    ours: ours.peakMb,
    baseline: bare.peakMb,
    unit: 'MB',
    goal: 'under 150 MB',
    met: ours.peakMb < 150,
  });
} finally {
  server.kill();
  await rm(tree.root, { recursive: true, force: true });
}
