// Runs every benchmark in bench/*.bench.ts: each is bundled with esbuild and run in its own Node
// process, prints its figures with a ratio against a baseline measured side by side, and appends a
// JSON line to bench/results.json for the README table.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { tmpdir } from 'node:os';

const machine = () => `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB`;
import path from 'node:path';

const only = process.argv.slice(2);
const benches = readdirSync('bench')
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort();
const outdir = mkdtempSync(path.join(tmpdir(), 'ap-bench-'));
const results = [];
try {
  await build({
    entryPoints: benches.map((file) => path.join('bench', file)),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __apCreateRequire } from 'node:module'; const require = __apCreateRequire(import.meta.url);" },
  });
  for (const file of benches) {
    const script = path.join(outdir, file.replace(/\.ts$/, '.js'));
    console.log(`\n=== ${file} ===`);
    const run = spawnSync(process.execPath, ['--expose-gc', script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', cwd: process.cwd() });
    process.stdout.write(
      run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('RESULT '))
        .join('\n'),
    );
    for (const line of run.stdout.split('\n')) if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice(7)));
    if (run.status !== 0) {
      console.log(`${file} exited with ${run.status}`);
      process.exitCode = 1;
    }
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
if (results.length) {
  // Keep the latest figure of every metric, so running one benchmark does not drop the others.
  const previous = existsSync('bench/results.json') ? (JSON.parse(readFileSync('bench/results.json', 'utf8')).results ?? []) : [];
  const key = (figure) => `${figure.bench} · ${figure.metric}`;
  const fresh = new Set(results.map(key));
  const merged = [...previous.filter((figure) => !fresh.has(key(figure))), ...results.map((figure) => ({ ...figure, date: new Date().toISOString() }))];
  writeFileSync('bench/results.json', `${JSON.stringify({ node: process.version, machine: machine(), results: merged }, null, 2)}\n`);
  console.log('\nfigures written to bench/results.json');
}
