import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../support/ports.js';

/** Why a real redis-server cannot run here, or undefined when it can (Debian: apt-get install redis-server). */
export function redisUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8', env });
  if (probe.error) return `redis-server cannot start here (${(probe.error as NodeJS.ErrnoException).code}); install it (apt-get install -y redis-server) to run these tests`;
  return undefined;
}

/** The variable .ci/run sets: there a missing redis-server fails the REDIS_URL tests instead of skipping them. */
export const REQUIRE_REDIS_VARIABLE = 'AGENT_PREVIEW_REQUIRE_REDIS';

/**
 * Whether the REDIS_URL tests run: yes with a redis-server; without one they are skipped, the reason
 * in the suite's name (so `npm test -- --verbose` and the summary's skipped suite say why), except
 * where `AGENT_PREVIEW_REQUIRE_REDIS=1` (CI), where they fail with that reason.
 */
export function redisTestPlan(env: NodeJS.ProcessEnv = process.env): { run: true } | { run: false; skip?: string; fail?: string } {
  const unavailable = redisUnavailable(env);
  if (!unavailable) return { run: true };
  if (env[REQUIRE_REDIS_VARIABLE] === '1') return { run: false, fail: `${unavailable} (${REQUIRE_REDIS_VARIABLE}=1: required here)` };
  return { run: false, skip: unavailable };
}

export interface RedisServer {
  url: string;
  close(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, with no persistence, in its own folder. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/Ready to accept connections/i.test(line)) resolve();
    });
    void exited.then(() => reject(new Error('redis-server exited before it was ready')));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async close() {
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
