import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectContext } from '../../../src/context/collect.js';
import { loadManifest } from '../../../src/context/manifest.js';
import { packContext } from '../../../src/context/pack.js';
import { treeHashFromDigests, workingTreeHash } from '../../../src/context/tree-hash.js';
import { HELLO_AGENT } from '../../support/agents.js';

const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function agentTree(files: Record<string, string>, manifestExtra = ''): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-ctx-'));
  made.push(root);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  await writeFile(
    path.join(root, 'manifest.yaml'),
    `build:\n  context:\n    root: .\n    include_paths: [project]\n    dockerfile: Dockerfile\n    dockerignore: .dockerignore\n${manifestExtra}agent:\n  name: ctx-agent\n  acp_type: sync\n`,
  );
  return root;
}

describe('working_tree_hash', () => {
  it('matches vectors derived by hand with sha256sum', () => {
    // Digests: printf "FROM scratch\n" | sha256sum, and likewise for run.sh; the tree hash:
    // printf "Dockerfile\000100644\000$D1\nproject/run.sh\000100755\000$D2" | sha256sum
    const dockerfile = 'bb57c7da220a8753d7bdabac0d3afdb6efa742e4c736c5bc93ab40dfd5e23b9b';
    const script = '299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba';
    expect(
      treeHashFromDigests([
        { path: 'project/run.sh', mode: '100755', digest: script },
        { path: 'Dockerfile', mode: '100644', digest: dockerfile },
      ]),
    ).toBe('a98cd1f8d1c2b091d7447fd3ad1f73e2aac2695b22257504a73562a895647c9a');
    // A symlink hashes its target string: printf 'ignored.txt' | sha256sum.
    expect(
      treeHashFromDigests([
        { path: 'Dockerfile', mode: '100644', digest: dockerfile },
        { path: 'project/run.sh', mode: '100755', digest: script },
        { path: 'project/link', mode: '120000', digest: '7eb68a924ffc836a2bc6f1b6d26e3dc1a3e80783b37e47f8a8ca9c844d0938d8' },
      ]),
    ).toBe('1135c83face72809740cf1015af39300bc59cc1d1f34df9a90c04a5b4f1ac6ab');
  });

  it('hashes a real tree to the same vector, executable bit included', async () => {
    const root = await agentTree({ Dockerfile: 'FROM scratch\n', 'project/run.sh': '#!/bin/sh\necho hi\n' });
    await chmod(path.join(root, 'project/run.sh'), 0o755);
    const manifest = await loadManifest(path.join(root, 'manifest.yaml'));
    expect(manifest.warnings[0]).toMatch(/\.dockerignore .* does not exist/);
    const entries = await collectContext(manifest);
    expect(entries.map((entry) => [entry.path, entry.mode.toString(8)])).toEqual([
      ['Dockerfile', '644'],
      ['project/run.sh', '755'],
    ]);
    expect(await workingTreeHash(entries)).toBe('a98cd1f8d1c2b091d7447fd3ad1f73e2aac2695b22257504a73562a895647c9a');
    const packed = await packContext(manifest);
    expect(packed.treeHash).toBe('a98cd1f8d1c2b091d7447fd3ad1f73e2aac2695b22257504a73562a895647c9a');
    await packed.dispose();
  });
});

describe('packContext', () => {
  const files = {
    'project/Dockerfile.unused': 'x',
    Dockerfile: 'FROM python:3.12\nCOPY project /app\n',
    '.dockerignore': '**/__pycache__\n*.log\nproject/secret.env\n**/node_modules\n',
    'project/app.py': 'print("hi")\n',
    'project/pkg/mod.py': 'x = 1\n',
    'project/pkg/__pycache__/mod.cpython-312.pyc': 'bytecode',
    'project/debug.log': 'noise',
    'project/secret.env': 'TOKEN=1',
    'project/node_modules/dep/index.js': 'module.exports = 1',
    'outside.txt': 'not included',
  };

  it('packs exactly the staged context with the Dockerfile at the root', async () => {
    const root = await agentTree(files);
    const packed = await packContext(await loadManifest(path.join(root, 'manifest.yaml')));
    const listing = execFileSync('tar', ['-tvzf', packed.archivePath], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).pop());
    expect(names).toEqual(['.dockerignore', 'Dockerfile', 'project/Dockerfile.unused', 'project/app.py', 'project/pkg/mod.py']);
    for (const line of listing) {
      expect(line).toMatch(/^-rw-r--r-- 0\/0 /);
      expect(line).toContain('2000-01-01');
    }
    expect(packed.fileCount).toBe(5);
    await packed.dispose();
    await expect(readdir(path.dirname(packed.archivePath))).rejects.toThrow();
  });

  it('gives byte-identical archives for identical trees, whatever the mtimes and folders', async () => {
    const first = await agentTree(files);
    const second = await agentTree(files);
    await utimes(path.join(second, 'project/app.py'), new Date('2021-05-05'), new Date('2021-05-05'));
    const a = await packContext(await loadManifest(path.join(first, 'manifest.yaml')));
    const b = await packContext(await loadManifest(path.join(second, 'manifest.yaml')));
    expect(Buffer.compare(await readFile(a.archivePath), await readFile(b.archivePath))).toBe(0);
    expect(a.treeHash).toBe(b.treeHash);
    await writeFile(path.join(second, 'project/app.py'), 'print("changed")\n');
    const c = await packContext(await loadManifest(path.join(second, 'manifest.yaml')));
    expect(c.treeHash).not.toBe(a.treeHash);
    await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
  });

  it('follows symlinks inside the context and refuses one that escapes it', async () => {
    const root = await agentTree(files);
    await symlink('app.py', path.join(root, 'project/alias.py'));
    const entries = await collectContext(await loadManifest(path.join(root, 'manifest.yaml')));
    expect(entries.find((entry) => entry.path === 'project/alias.py')).toMatchObject({ type: 'file', size: 12 });
    await symlink('/etc/hostname', path.join(root, 'project/escape'));
    await expect(packContext(await loadManifest(path.join(root, 'manifest.yaml')))).rejects.toThrow(/symlink project\/escape points outside .* \(to \/etc\/hostname\)/);
  });

  it('refuses a context over the limit naming the largest paths, leaving no file behind', async () => {
    const root = await agentTree({ ...files, 'project/big.bin': 'x'.repeat(5000), 'project/mid.bin': 'y'.repeat(3000) });
    const outFile = path.join(root, 'out.tar.gz');
    await expect(packContext(await loadManifest(path.join(root, 'manifest.yaml')), { maxContextBytes: 4000, outFile })).rejects.toThrow(
      /over the platform's 3\.9 KB limit; largest: project\/big\.bin \(4\.9 KB\), project\/mid\.bin \(2\.9 KB\)/,
    );
    await expect(readFile(outFile)).rejects.toThrow(/ENOENT/);
  });

  it('handles paths longer than 100 bytes', async () => {
    const deep = `project/${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}.py`;
    const root = await agentTree({ Dockerfile: 'FROM x\n', [deep]: 'deep\n' });
    const packed = await packContext(await loadManifest(path.join(root, 'manifest.yaml')));
    expect(execFileSync('tar', ['-tzf', packed.archivePath], { encoding: 'utf8' })).toContain(deep);
    await packed.dispose();
  });

  it('packs examples/hello-agent', async () => {
    const packed = await packContext(await loadManifest(path.join(HELLO_AGENT, 'manifest.yaml')));
    expect(packed.fileCount).toBeGreaterThanOrEqual(4);
    expect(packed.treeHash).toMatch(/^[0-9a-f]{64}$/);
    await packed.dispose();
  });
});
