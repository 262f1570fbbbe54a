// The .dockerignore and ordering rules of the Agentex SDK (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:
// src/agentex/lib/sdk/config/agent_manifest.py BuildContextManager, src/agentex/lib/utils/build_provenance.py
// working_tree_hash). Each vector was derived by hand: the staged listing from the SDK's rule
// (shutil.copytree + shutil.ignore_patterns, i.e. Python fnmatch on each name inside an include
// path), each digest with `printf '<content>' | sha256sum`, and the tree hash with
// `printf '<path>\000<mode>\000<digest>\n...' | sha256sum` over the lines in code-point order.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list } from 'tar';
import { loadManifest } from '../../../src/context/manifest.js';
import { packContext } from '../../../src/context/pack.js';
import { fnmatchToRegExp } from '../../../src/context/fnmatch.js';
import { compareCodePoints } from '../../../src/context/order.js';
import { treeHashFromDigests } from '../../../src/context/tree-hash.js';
import { runCli } from '../../support/io.js';

const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tree(files: Record<string, string>, includePaths: string[], executables: string[] = []): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-sdk-'));
  made.push(root);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  for (const name of executables) await chmod(path.join(root, name), 0o755);
  await writeFile(
    path.join(root, 'manifest.yaml'),
    `build:\n  context:\n    root: .\n    include_paths: ${JSON.stringify(includePaths)}\n    dockerfile: Dockerfile\n    dockerignore: .dockerignore\nagent:\n  name: sdk-rules\n`,
  );
  return path.join(root, 'manifest.yaml');
}

/** Archive members in archive order, with their modes. */
async function listing(archive: string): Promise<string[]> {
  const members: string[] = [];
  await list({ file: archive, onReadEntry: (entry) => members.push(`${entry.path} ${(entry.mode ?? 0).toString(8)}`) });
  return members;
}

async function pack(manifestFile: string, sdkExact = false) {
  const packed = await packContext(await loadManifest(manifestFile), { sdkExact });
  const members = await listing(packed.archivePath);
  await packed.dispose();
  return { members, treeHash: packed.treeHash };
}

describe("the SDK's .dockerignore rule", () => {
  it('never drops an include path whose last segment is an ignored name; only what is inside it', async () => {
    // include_paths [project, resources/data] with the line `data`: the SDK matches names inside
    // each include path (project/data and resources/data/data go), and Docker's `data` is anchored
    // at the context root, so resources/data itself stays.
    const manifest = await tree(
      {
        Dockerfile: 'FROM python:3.12\nCOPY project /app\nCOPY resources/data /data\n',
        '.dockerignore': 'data\n',
        'project/app.py': "print('hi')\n",
        'project/data/cache.txt': 'cache\n',
        'resources/data/seed.csv': 'a,b\n1,2\n',
        'resources/data/data/nested.csv': 'x\n',
      },
      ['project', 'resources/data'],
    );
    const { members, treeHash } = await pack(manifest);
    expect(members).toEqual(['.dockerignore 644', 'Dockerfile 644', 'project/app.py 644', 'resources/data/seed.csv 644']);
    expect(treeHash).toBe(
      treeHashFromDigests([
        { path: '.dockerignore', mode: '100644', digest: '6667b2d1aab6a00caa5aee5af8ad9f1465e567abf1c209d15727d57b3e8f6e5f' },
        { path: 'Dockerfile', mode: '100644', digest: '37a84645124e2d67cb1863bf52a1b29796ba12dea54c885484e95e6024671594' },
        { path: 'project/app.py', mode: '100644', digest: 'caf026f25d7140209f98072605307a438914b9ce6f3c14b23d15d9667241de52' },
        { path: 'resources/data/seed.csv', mode: '100644', digest: '492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470' },
      ]),
    );
    expect(treeHash).toBe('85b6f4d4f0b07611933e47f1b880ac1346413063ef388ea7563e2e3a76b4e0fa');
  });

  it("reads lines as Python's fnmatch does: [!x] negates, [^x] and []] are literal sets, ! is a name, a BOM stays", async () => {
    // SDK patterns: "\uFEFFbom.txt" (matches no name), "[!a]b.txt", "[^a]c.txt", "[]]d.txt",
    // "!keep.txt", "tmp" (cut at the #). Docker's own reading of the same lines is anchored at the
    // context root and drops nothing under project/.
    const manifest = await tree(
      {
        Dockerfile: 'FROM scratch\n',
        '.dockerignore': '\uFEFFbom.txt\n[!a]b.txt\n[^a]c.txt\n[]]d.txt\n!keep.txt\ntmp # scratch files\n',
        'project/bom.txt': '1\n',
        'project/ab.txt': '2\n',
        'project/xb.txt': '3\n',
        'project/ac.txt': '4\n',
        'project/^c.txt': '5\n',
        'project/xc.txt': '6\n',
        'project/]d.txt': '7\n',
        'project/!keep.txt': '8\n',
        'project/keep.txt': '9\n',
        'project/tmp/t.txt': '10\n',
        'project/run.sh': '#!/bin/sh\necho hi\n',
      },
      ['project'],
      ['project/run.sh'],
    );
    const { members, treeHash } = await pack(manifest);
    expect(members).toEqual([
      '.dockerignore 644',
      'Dockerfile 644',
      'project/ab.txt 644',
      'project/bom.txt 644',
      'project/keep.txt 644',
      'project/run.sh 755',
      'project/xc.txt 644',
    ]);
    expect(treeHash).toBe(
      treeHashFromDigests([
        { path: '.dockerignore', mode: '100644', digest: '68037c99519fd0b8ddbdad7ffcef1a56d3232c144a108c47864123dd5644df10' },
        { path: 'Dockerfile', mode: '100644', digest: 'bb57c7da220a8753d7bdabac0d3afdb6efa742e4c736c5bc93ab40dfd5e23b9b' },
        { path: 'project/ab.txt', mode: '100644', digest: '53c234e5e8472b6ac51c1ae1cab3fe06fad053beb8ebfd8977b010655bfdd3c3' },
        { path: 'project/bom.txt', mode: '100644', digest: '4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865' },
        { path: 'project/keep.txt', mode: '100644', digest: '2e6d31a5983a91251bfae5aefa1c0a19d8ba3cf601d0e8a706b4cfa9661a6b8a' },
        { path: 'project/run.sh', mode: '100755', digest: '299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba' },
        { path: 'project/xc.txt', mode: '100644', digest: '06e9d52c1720fca412803e3b07c4b228ff113e303f4c7ab94665319d832bbfb7' },
      ]),
    );
    expect(treeHash).toBe('0b6722d8a9639bb6fe60b380f38856328e5e20d202d999ac92e21c2ea8c0d658');
  });

  it('refuses a .dockerignore that is not UTF-8, as the SDK fails to read it', async () => {
    const manifest = await tree({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' }, ['project']);
    await writeFile(path.join(path.dirname(manifest), '.dockerignore'), Buffer.from([0x2a, 0x2e, 0x6c, 0x6f, 0x67, 0x0a, 0xff, 0xfe, 0x0a]));
    await expect(packContext(await loadManifest(manifest))).rejects.toThrow(/\.dockerignore.*is not valid UTF-8/);
  });

  it('translates fnmatch sets exactly: ranges, reversed ranges, negation, code points', () => {
    const matches = (pattern: string, name: string) => fnmatchToRegExp(pattern).test(name);
    expect(matches('[a-c]x', 'bx')).toBe(true);
    expect(matches('[z-a]x', 'zx')).toBe(false); // an empty range matches nothing
    expect(matches('[!z-a]x', '!x')).toBe(true); // a negated empty range matches any character
    expect(matches('[!a-c]x', 'bx')).toBe(false);
    expect(matches('[a-]x', '-x')).toBe(true);
    expect(matches('[\\]x', '\\x')).toBe(true);
    expect(matches('[x', '[x')).toBe(true);
    expect(matches('?.txt', '😀.txt')).toBe(true); // one code point, as in Python's str
    expect(matches('*.py', 'dir/a.py')).toBe(true); // * crosses /, though names never hold one
    expect(matches('a*', 'a\nb')).toBe(true);
  });
});

describe("Docker's rule, read as BuildKit reads the file", () => {
  it('takes # as a comment only at the start of a line, and strips a BOM', async () => {
    // SDK patterns: "\uFEFFproject/secret.env" and "/project/tmp" (both hold a / and match no name).
    // BuildKit's: "project/secret.env" (BOM stripped) and "/project/tmp # scratch" (the # is part
    // of the pattern, which then matches nothing). Docker drops project/secret.env; nothing drops
    // project/tmp.
    const manifest = await tree(
      {
        Dockerfile: 'FROM scratch\n',
        '.dockerignore': '\uFEFFproject/secret.env\n/project/tmp # scratch\n',
        'project/secret.env': 'TOKEN=1\n',
        'project/tmp/t.txt': 't\n',
      },
      ['project'],
    );
    expect((await pack(manifest)).members).toEqual(['.dockerignore 644', 'Dockerfile 644', 'project/tmp/t.txt 644']);
    expect((await pack(manifest, true)).members).toEqual(['.dockerignore 644', 'Dockerfile 644', 'project/secret.env 644', 'project/tmp/t.txt 644']);
  });
});

describe('order', () => {
  it('sorts members and hash lines by code point, as Python sorts str', async () => {
    // UTF-16 order would put 😀 (U+1F600, surrogates D83D DE00) before （ (U+FF08) and ｆ (U+FF46).
    expect(['😀', 'ｆ', '（', 'z'].sort(compareCodePoints)).toEqual(['z', '（', 'ｆ', '😀']);
    const manifest = await tree(
      { Dockerfile: 'FROM scratch\n', 'project/😀.txt': 'emoji\n', 'project/ｆ.txt': 'full-width f\n', 'project/（.txt': 'full-width paren\n', 'project/z.txt': 'z\n' },
      ['project'],
    );
    const { members, treeHash } = await pack(manifest);
    expect(members).toEqual(['Dockerfile 644', 'project/z.txt 644', 'project/（.txt 644', 'project/ｆ.txt 644', 'project/😀.txt 644']);
    // printf "Dockerfile\000100644\000bb57…\nproject/z.txt\000100644\000c865…\nproject/（.txt…\nproject/ｆ.txt…\nproject/😀.txt…" | sha256sum
    expect(treeHash).toBe('182a7801cf01968525d5b3eab7405a0f02fb53d744a30a1c92352cc03aa1a43b');
  });
});

describe("where Docker's rule drops more than the SDK's", () => {
  const files = {
    Dockerfile: 'FROM python:3.12\nCOPY project /app\n',
    '.dockerignore': '**/__pycache__\n*.log\n',
    'project/app.py': "print('hi')\n",
    'project/debug.log': 'noise\n',
    'project/pkg/mod.py': 'x = 1\n',
    'project/pkg/__pycache__/mod.cpython-312.pyc': 'bytecode\n',
  };
  const digests = {
    dockerignore: '18362db212f6d1d41c42acd25894733ac6d0c02ac9f2de55326ef9504e3d45d0',
    dockerfile: '2d0e2cb79764c955c1da4b8dc1c4255932de701453bb93c6e235a45daaa6c2ef',
    app: 'caf026f25d7140209f98072605307a438914b9ce6f3c14b23d15d9667241de52',
    mod: '9e26bf369911c45c243c684147b23fc9e1dcfcf257d299a1c632016a6fcd33f4',
    pyc: 'f4185d07b1ea619f8fbc7368597ea29702d8590a9c80438bc1d6f76979b91b2b',
  };

  it("hashes what it packs by default: **/__pycache__ is left out, so the hash is not the SDK's", async () => {
    const { members, treeHash } = await pack(await tree(files, ['project']));
    expect(members).toEqual(['.dockerignore 644', 'Dockerfile 644', 'project/app.py 644', 'project/pkg/mod.py 644']);
    // printf ".dockerignore\000100644\00018362…\nDockerfile\000100644\0002d0e…\nproject/app.py\000100644\000caf0…\nproject/pkg/mod.py\000100644\0009e26…" | sha256sum
    expect(treeHash).toBe('6a2338cfbd020150234c53ebe6db528bd08e6bd8068b97e9473db69c9795632f');
  });

  it("packs exactly what the SDK stages with sdkExact, and then the hash is the SDK's", async () => {
    const { members, treeHash } = await pack(await tree(files, ['project']), true);
    // `*.log` is a name the SDK matches; `**/__pycache__` holds a / and matches no name.
    expect(members).toEqual(['.dockerignore 644', 'Dockerfile 644', 'project/app.py 644', 'project/pkg/__pycache__/mod.cpython-312.pyc 644', 'project/pkg/mod.py 644']);
    expect(treeHash).toBe(
      treeHashFromDigests([
        { path: '.dockerignore', mode: '100644', digest: digests.dockerignore },
        { path: 'Dockerfile', mode: '100644', digest: digests.dockerfile },
        { path: 'project/app.py', mode: '100644', digest: digests.app },
        { path: 'project/pkg/__pycache__/mod.cpython-312.pyc', mode: '100644', digest: digests.pyc },
        { path: 'project/pkg/mod.py', mode: '100644', digest: digests.mod },
      ]),
    );
    expect(treeHash).toBe('45062795a99e098acb841f501292f82cd1bcc3d0121be54740753be2879e215a');
  });

  it("agent-preview pack --sdk-exact prints the SDK's hash", async () => {
    const manifest = await tree(files, ['project']);
    const out = path.join(path.dirname(manifest), 'out.tar.gz');
    const exact = await runCli(['--json', 'pack', '-m', manifest, '-o', out, '--sdk-exact']);
    expect(exact.code).toBe(0);
    expect(JSON.parse(exact.stdout)).toMatchObject({ files: 5, workingTreeHash: '45062795a99e098acb841f501292f82cd1bcc3d0121be54740753be2879e215a' });
    const usual = await runCli(['--json', 'pack', '-m', manifest, '-o', out]);
    expect(JSON.parse(usual.stdout)).toMatchObject({ files: 4, workingTreeHash: '6a2338cfbd020150234c53ebe6db528bd08e6bd8068b97e9473db69c9795632f' });
  });
});
