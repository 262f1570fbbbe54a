import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { getOctokit } from '@actions/github';
import { coreOctokit, createForgeOctokit } from '../../../src/forge/client.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';

/** A forge that never answers, counting the calls it gets. */
async function silentForge(): Promise<{ url: string; calls: () => number; arrived: Promise<void>; server: Server }> {
  let calls = 0;
  let firstArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
  const server = createServer(() => {
    calls++;
    firstArrived();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls, arrived, server };
}

let forge: Awaited<ReturnType<typeof silentForge>>;
beforeEach(async () => (forge = await silentForge()));
afterEach(() => {
  forge.server.closeAllConnections();
  return new Promise((resolve) => forge.server.close(resolve));
});

describe('a forge call that is aborted ends there, and is never retried', () => {
  it.each([
    ["@actions/github's getOctokit (the action's)", getOctokit],
    ['@octokit/core', coreOctokit],
  ])('a call whose own signal times out fails once, as an AbortError, instead of being retried with the spent signal: %s', async (_name, factory) => {
    const octokit = createForgeOctokit({ kind: 'github', apiUrl: forge.url, token: 'ghs_abortTestToken01', writeSpacing: UNSPACED_WRITES, octokit: factory });
    // Aborted as AbortSignal.timeout aborts (with a TimeoutError as the reason), once the call has arrived.
    const own = new AbortController();
    const call = octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: 'o', repo: 'r', pull_number: 1, request: { signal: own.signal } });
    await forge.arrived;
    own.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(forge.calls()).toBe(1);
  });

  it("aborting the client's lifetime ends the calls in flight, and they are not retried", async () => {
    const lifetime = new AbortController();
    const octokit = createForgeOctokit({ kind: 'gitea', apiUrl: `${forge.url}/api/v1`, token: 'gitea-abort-token-01', lifetime: lifetime.signal });
    const call = octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', { owner: 'o', repo: 'r', sha: 'a'.repeat(40), state: 'success' });
    await forge.arrived;
    lifetime.abort(new Error('the app is stopping'));
    await expect(call).rejects.toMatchObject({ name: 'AbortError', message: 'the app is stopping' });
    expect(forge.calls()).toBe(1);
    // Once the lifetime is over, nothing more is sent.
    await expect(octokit.request('GET /user')).rejects.toMatchObject({ name: 'AbortError' });
    expect(forge.calls()).toBe(1);
  });
});
