// Time from starting the action bundle to its first platform request, against starting bare Node.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPlatform } from '../src/local-platform/index.js';
import { machine, median, report } from './support.js';

console.log(`machine: ${machine()}`);
const local = await startLocalPlatform({ buildStepMs: 10, deployStepMs: 10 });
const workspace = await mkdtemp(path.join(tmpdir(), 'ap-bench-action-'));
await cp('examples/hello-agent', path.join(workspace, 'hello'), { recursive: true });
const eventPath = path.join(workspace, 'event.json');
await writeFile(eventPath, JSON.stringify({ ref: 'refs/heads/feature', repository: { full_name: 'o/r', default_branch: 'main' } }));

function exitTime(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => spawn(process.execPath, args, { env, stdio: 'ignore' }).on('exit', () => resolve(performance.now() - started)));
}

async function firstRequest(): Promise<number> {
  const before = local.requests.length;
  const started = performance.now();
  const child = spawn(process.execPath, [path.resolve('dist/action/index.js')], {
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_REF: 'refs/heads/feature',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_WORKSPACE: workspace,
      INPUT_PLATFORM: 'local',
      'INPUT_API-URL': local.url,
      INPUT_MANIFEST: 'hello/manifest.yaml',
      INPUT_MODE: 'build',
    },
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  while (local.requests.length === before) {
    if (exited) throw new Error('the action exited before its first platform request; run it by hand to see why');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const elapsed = performance.now() - started;
  if (!exited) {
    child.kill();
    await new Promise((resolve) => child.on('exit', resolve));
  }
  return elapsed;
}

const ours: number[] = [];
const bare: number[] = [];
for (let i = 0; i < 7; i++) {
  ours.push(await firstRequest());
  bare.push(await exitTime(['-e', ''], { PATH: process.env.PATH }));
}
await local.close();
await rm(workspace, { recursive: true, force: true });
const extra = median(ours) - median(bare);
console.log(`action start → first platform request: ${median(ours).toFixed(0)} ms; bare node -e '': ${median(bare).toFixed(0)} ms; extra ${extra.toFixed(0)} ms`);
report({
  bench: 'action start',
  metric: 'start → first platform request',
  ours: median(ours),
  baseline: median(bare),
  unit: 'ms',
  goal: 'under 300 ms more than bare Node',
  met: extra < 300,
});
