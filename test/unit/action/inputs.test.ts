import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readInputs, expandManifests } from '../../../src/action/inputs.js';
import { parseBuildArgs } from '../../../src/pipeline/build-args.js';
import { decideMode } from '../../../src/action/main.js';
import type { RunEvent } from '../../../src/action/event.js';

const base: RunEvent = { forge: 'github', name: 'pull_request', repo: { owner: 'o', repo: 'r' }, apiUrl: 'x', serverUrl: 'x', sha: 'abc' };
const pull = { number: 3, headSha: 'abc', headRef: 'feature', fork: false, merged: false };

describe('mode auto', () => {
  it.each(['opened', 'reopened', 'synchronize', 'synchronized'])('pull_request %s previews', (action) => {
    expect(decideMode('auto', { ...base, action, pull }, [])).toEqual({ mode: 'preview' });
  });
  it('closed tears down', () => expect(decideMode('auto', { ...base, action: 'closed', pull }, [])).toEqual({ mode: 'teardown' }));
  it('labeled is skipped', () => expect(decideMode('auto', { ...base, action: 'labeled', pull }, []).mode).toBe('skip'));
  it('a push to the default branch deploys, others build', () => {
    const push = { ...base, name: 'push', branch: 'main', defaultBranch: 'main' };
    expect(decideMode('auto', push, [])).toEqual({ mode: 'deploy' });
    expect(decideMode('auto', { ...push, branch: 'dev' }, [])).toEqual({ mode: 'build' });
    expect(decideMode('auto', { ...push, branch: 'release' }, ['release'])).toEqual({ mode: 'deploy' });
  });
  it('an explicit mode wins', () => expect(decideMode('teardown', base, [])).toEqual({ mode: 'teardown' }));
});

describe('inputs', () => {
  it('applies defaults', async () => {
    const inputs = await readInputs({}, '/repo');
    expect(inputs).toMatchObject({
      platform: 'agentex',
      mode: 'auto',
      ttlMs: 8 * 3_600_000,
      timeoutMs: 1_800_000,
      pollIntervalMs: 5000,
      onlyChanged: true,
      wait: true,
      comment: true,
      deployments: true,
      manifests: ['/repo/manifest.yaml'],
      maxParallel: 4,
    });
  });

  it('redeploy is auto or always', async () => {
    expect((await readInputs({}, '/repo')).redeploy).toBe('auto');
    expect((await readInputs({ INPUT_REDEPLOY: 'Always' }, '/repo')).redeploy).toBe('always');
    await expect(readInputs({ INPUT_REDEPLOY: 'sometimes' }, '/repo')).rejects.toThrow('field "redeploy": "sometimes" is not auto or always');
  });

  it('max-parallel is a whole number from 1 to 32', async () => {
    expect((await readInputs({ 'INPUT_MAX-PARALLEL': '2' }, '/repo')).maxParallel).toBe(2);
    for (const bad of ['0', '1.5', 'four', '33']) {
      await expect(readInputs({ 'INPUT_MAX-PARALLEL': bad }, '/repo')).rejects.toThrow(`field "max-parallel": "${bad}" is not a whole number from 1 to 32`);
    }
  });

  it('expands manifest globs, skipping node_modules', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'ap-glob-'));
    for (const dir of ['agents/a', 'agents/b', 'node_modules/x']) {
      await mkdir(path.join(root, dir), { recursive: true });
      await writeFile(path.join(root, dir, 'manifest.yaml'), '');
    }
    const inputs = await readInputs({ INPUT_MANIFEST: '**/manifest.yaml' }, root);
    expect(inputs.manifests).toEqual([path.join(root, 'agents/a/manifest.yaml'), path.join(root, 'agents/b/manifest.yaml')]);
    // Kept for the run to raise before building, so that a close can still tear down.
    const unmatched = await readInputs({ INPUT_MANIFEST: 'nothing/*.yaml' }, root);
    expect(unmatched.manifests).toEqual([]);
    expect(unmatched.manifestsError?.message).toMatch(/field "manifest".*matches no file/);
  });

  it('reads globs the way picomatch does: classes, ranges after a class, braces; * stays within a folder', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'ap-glob-'));
    for (const dir of ['agents/a', 'agents/b', 'agents/c', 'agents/ab2', 'agents/a/b', 'node_modules/agents/a']) {
      await mkdir(path.join(root, dir), { recursive: true });
      await writeFile(path.join(root, dir, 'manifest.yaml'), '');
    }
    const found = async (pattern: string) => (await expandManifests([pattern], root)).map((file) => path.relative(root, file));
    expect(await found('agents/[ab]/manifest.yaml')).toEqual(['agents/a/manifest.yaml', 'agents/b/manifest.yaml']);
    expect(await found('agents/[ab]*/manifest.yaml')).toEqual(['agents/a/manifest.yaml', 'agents/ab2/manifest.yaml', 'agents/b/manifest.yaml']);
    expect(await found('agents/{a,c}/manifest.yaml')).toEqual(['agents/a/manifest.yaml', 'agents/c/manifest.yaml']);
    expect(await found('./agents/*/manifest.yaml')).toEqual(['agents/a/manifest.yaml', 'agents/ab2/manifest.yaml', 'agents/b/manifest.yaml', 'agents/c/manifest.yaml']);
    expect(await found('**/a/manifest.yaml')).toEqual(['agents/a/manifest.yaml']);
  });

  it.each([
    [{ INPUT_MODE: 'ship-it' }, /field "mode"/],
    [{ INPUT_TTL: 'forever' }, /field "ttl"/],
    [{ INPUT_TIMEOUT: '0s' }, /field "timeout"/],
    [{ INPUT_WAIT: 'maybe' }, /field "wait".*true or false/],
    [{ INPUT_PLATFORM: 'heroku' }, /unknown platform "heroku"/],
    [{ 'INPUT_PREVIEW-URL': 'https://x/{bad}' }, /field "preview-url"/],
    [{ 'INPUT_BUILD-ARGS': '{"a": ' }, /field "build-args".*JSON/],
  ])('rejects %p', async (env, message) => {
    await expect(readInputs(env as NodeJS.ProcessEnv, '/repo')).rejects.toThrow(message);
  });

  it('reads build args as JSON or KEY=VALUE lines', () => {
    expect(parseBuildArgs('{"A": 1, "B": "x"}', 'build-args')).toEqual({ A: '1', B: 'x' });
    expect(parseBuildArgs('A=1\nB=x=y\n', 'build-args')).toEqual({ A: '1', B: 'x=y' });
    expect(() => parseBuildArgs('A=1\nnope', 'build-args')).toThrow(/line 2 "nope"/);
  });
});
