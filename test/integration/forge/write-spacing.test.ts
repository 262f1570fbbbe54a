import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createForgeOctokit } from '../../../src/forge/client.js';
import { GITHUB_WRITE_SPACING, UNSPACED_WRITES, writeSpacingFromEnv } from '../../../src/forge/throttle.js';
import { InputError } from '../../../src/errors.js';

/** A server that answers every write and records when each arrived. */
async function recordingServer(): Promise<{ url: string; arrivals: number[]; server: Server }> {
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals, server };
}

let target: Awaited<ReturnType<typeof recordingServer>>;
beforeEach(async () => (target = await recordingServer()));
afterEach(() => new Promise((resolve) => target.server.close(resolve)));

/**
 * Three comment edits (writes that notify no one), one after another, as a run makes them: the
 * gaps between their arrivals, and how long the three took from the client's side.
 */
async function threeWrites(kind: 'github' | 'gitea', options: { writeSpacing?: typeof GITHUB_WRITE_SPACING } = {}): Promise<{ gaps: number[]; tookMs: number }> {
  // A separate API per test, so no limiter group is shared with another test's client.
  const octokit = createForgeOctokit({ kind, apiUrl: `${target.url}/api/${kind}-${Math.random()}`, token: 'ghs_spacingTestToken1', ...options });
  const started = performance.now();
  for (let n = 1; n <= 3; n++) await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner: 'o', repo: 'r', comment_id: n, body: 'x' });
  return { gaps: target.arrivals.slice(1).map((at, i) => at - target.arrivals[i]), tookMs: performance.now() - started };
}

describe('how far apart the forge client spaces its writes', () => {
  it("GitHub's writes are spaced a second apart by default, after GitHub's guidance on secondary rate limits", async () => {
    const { tookMs } = await threeWrites('github');
    // The limiter starts each write at least the spacing after the one before; a busy machine only
    // adds to that (arrival gaps at the server would not do: a late first arrival shortens a gap).
    expect(tookMs).toBeGreaterThanOrEqual(2 * GITHUB_WRITE_SPACING.writeMs - 20);
  });

  it('Gitea has no secondary rate limits, so its writes are not spaced (nor GitHub writes under AGENT_PREVIEW_WRITE_SPACING=0)', async () => {
    // Spaced, the two gaps would add up to two seconds; three loopback calls take milliseconds.
    const halfOfSpaced = GITHUB_WRITE_SPACING.writeMs;
    const gitea = await threeWrites('gitea');
    target.arrivals.length = 0;
    const unspacedGithub = await threeWrites('github', { writeSpacing: writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: '0' }) });
    expect(gitea.gaps.reduce((a, b) => a + b, 0)).toBeLessThan(halfOfSpaced);
    expect(unspacedGithub.gaps.reduce((a, b) => a + b, 0)).toBeLessThan(halfOfSpaced);
  });
});

describe('AGENT_PREVIEW_WRITE_SPACING', () => {
  it('is unset by default, takes 0 or a duration, and names itself when it is not one', () => {
    expect(writeSpacingFromEnv({})).toBeUndefined();
    expect(writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: '0' })).toEqual(UNSPACED_WRITES);
    expect(writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: '0ms' })).toEqual(UNSPACED_WRITES);
    expect(writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: '2s' })).toEqual({ writeMs: 2000, notifyingWriteMs: 2000 });
    expect(() => writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: 'soon' })).toThrow(InputError);
    expect(() => writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: 'soon' })).toThrow(/AGENT_PREVIEW_WRITE_SPACING|duration/);
    expect(() => writeSpacingFromEnv({ AGENT_PREVIEW_WRITE_SPACING: '5m' })).toThrow(/too long/);
  });
});
