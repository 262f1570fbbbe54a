// Nothing from outside the workspace, nothing from .git and no special file reaches the archive.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { list } from 'tar';
import { loadManifest } from '../../../src/context/manifest.js';
import { packContext } from '../../../src/context/pack.js';

const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-ws-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    if (!name.endsWith('/')) await writeFile(path.join(dir, name), content);
  }
  return dir;
}

function manifestText(root: string, includePaths: string[], dockerfile = 'Dockerfile'): string {
  return `build:\n  context:\n    root: ${root}\n    include_paths: ${JSON.stringify(includePaths)}\n    dockerfile: ${dockerfile}\nagent:\n  name: ws-agent\n`;
}

async function members(archive: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file: archive, onReadEntry: (entry) => names.push(entry.path) });
  return names;
}

// The token actions/checkout persists by default (persist-credentials: true): base64 of "x-access-token:<token>".
const TOKEN = 'ghs_persistedJobToken0123456789abcdef';
const EXTRAHEADER = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;

function gitCheckout(dir: string): void {
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'config', '--local', 'http.https://github.com/.extraheader', EXTRAHEADER]);
}

describe('what is packed stays inside the workspace, wherever the context root is', () => {
  it('accepts root: ../../.. above the repository when everything packed is inside it (archive paths stay relative to the root)', async () => {
    const outer = await folder({ 'repo/agents/a/Dockerfile': 'FROM scratch\n', 'repo/agents/a/app.py': 'x\n', 'secret.txt': 'no\n' });
    gitCheckout(path.join(outer, 'repo'));
    await writeFile(path.join(outer, 'repo/agents/a/manifest.yaml'), manifestText('../../..', ['repo/agents/a'], 'repo/agents/a/Dockerfile'));
    const packed = await packContext(await loadManifest(path.join(outer, 'repo/agents/a/manifest.yaml')));
    expect(await members(packed.archivePath)).toEqual(['Dockerfile', 'repo/agents/a/Dockerfile', 'repo/agents/a/app.py', 'repo/agents/a/manifest.yaml']);
    await packed.dispose();
  });

  it('refuses a Dockerfile that root: ../../.. reaches outside the repository', async () => {
    const outer = await folder({ 'Dockerfile.outside': 'FROM scratch\n', 'repo/agents/a/app.py': 'x\n' });
    gitCheckout(path.join(outer, 'repo'));
    await writeFile(path.join(outer, 'repo/agents/a/manifest.yaml'), manifestText('../../..', ['repo/agents/a'], 'Dockerfile.outside'));
    await expect(loadManifest(path.join(outer, 'repo/agents/a/manifest.yaml'))).rejects.toThrow(
      /manifest\.yaml:5.*build\.context\.dockerfile.*"Dockerfile\.outside" is .*, outside the repository .*repo \(its git top level\); the Dockerfile must stay inside it/,
    );
  });

  it("refuses root: .. that would reach a sibling folder's credentials.json", async () => {
    const outer = await folder({ 'other-project/credentials.json': '{"key":"secret"}', 'repo/Dockerfile': 'FROM scratch\n', 'repo/app.py': 'x\n' });
    gitCheckout(path.join(outer, 'repo'));
    await writeFile(path.join(outer, 'repo/manifest.yaml'), manifestText('..', ['other-project', 'repo'], 'repo/Dockerfile'));
    await expect(loadManifest(path.join(outer, 'repo/manifest.yaml'))).rejects.toThrow(/build\.context\.include_paths\.0.*"other-project".*outside the repository/);
  });

  it('accepts root: .. inside a monorepo and packs from across it', async () => {
    const repo = await folder({ 'agents/a/Dockerfile': 'FROM scratch\n', 'agents/a/app.py': 'a\n', 'shared/lib.py': 'lib\n', 'shared/notes/.keep': '' });
    gitCheckout(repo);
    await writeFile(path.join(repo, 'agents/a/manifest.yaml'), manifestText('../..', ['agents/a', 'shared'], 'agents/a/Dockerfile'));
    const packed = await packContext(await loadManifest(path.join(repo, 'agents/a/manifest.yaml')));
    expect(await members(packed.archivePath)).toEqual(['Dockerfile', 'agents/a/Dockerfile', 'agents/a/app.py', 'agents/a/manifest.yaml', 'shared/lib.py', 'shared/notes/.keep']);
    await packed.dispose();
  });

  it('uses GITHUB_WORKSPACE when the manifest is inside it, even inside a larger git work tree', async () => {
    const outer = await folder({ 'ws/agent/Dockerfile': 'FROM scratch\n', 'ws/lib.py': 'lib\n', 'secret.txt': 'no\n' });
    gitCheckout(outer);
    const ws = path.join(outer, 'ws');
    await writeFile(path.join(ws, 'agent/manifest.yaml'), manifestText('..', ['agent', 'lib.py'], 'agent/Dockerfile'));
    await expect(loadManifest(path.join(ws, 'agent/manifest.yaml'), { env: { GITHUB_WORKSPACE: ws } })).resolves.toMatchObject({ build: { workspace: { dir: ws } } });
    await writeFile(path.join(ws, 'agent/manifest.yaml'), manifestText('../..', ['secret.txt'], 'ws/agent/Dockerfile'));
    await expect(loadManifest(path.join(ws, 'agent/manifest.yaml'), { env: { GITHUB_WORKSPACE: ws } })).rejects.toThrow(/outside the workspace .*ws \(GITHUB_WORKSPACE\)/);
    // The same manifest is fine for the CLI, whose workspace is the git top level.
    await expect(loadManifest(path.join(ws, 'agent/manifest.yaml'), { env: {} })).resolves.toBeDefined();
  });

  it('refuses include paths, a Dockerfile and symlinks whose real place is outside the workspace', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    gitCheckout(repo);
    await symlink('/etc', path.join(repo, 'etc-link'));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project', 'etc-link']));
    await expect(loadManifest(path.join(repo, 'manifest.yaml'))).rejects.toThrow(/include_paths\.1.*"etc-link" is \/etc, outside the repository/);

    await symlink('/etc/hostname', path.join(repo, 'Dockerfile.link'));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project'], 'Dockerfile.link'));
    await expect(loadManifest(path.join(repo, 'manifest.yaml'))).rejects.toThrow(/build\.context\.dockerfile.*outside the repository/);

    await symlink('/etc/passwd', path.join(repo, 'project/passwd'));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml')))).rejects.toThrow(
      /the symlink project\/passwd points outside the repository .* \(to \/etc\/passwd\)/,
    );
  });
});

describe('.git is never packed', () => {
  it('leaves out a checkout whose .git/config carries the persisted job token', async () => {
    const repo = await folder({
      Dockerfile: 'FROM scratch\nCOPY . /app\n',
      'app.py': 'print(1)\n',
      'vendor/lib/.git': 'gitdir: ../../.git/modules/lib\n',
      'vendor/lib/lib.py': 'x\n',
    });
    gitCheckout(repo);
    expect(await readFile(path.join(repo, '.git/config'), 'utf8')).toContain(EXTRAHEADER);
    // root: . with include_paths [.] and no .dockerignore: the SDK would copy .git too.
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['.']));
    const packed = await packContext(await loadManifest(path.join(repo, 'manifest.yaml')));
    expect(await members(packed.archivePath)).toEqual(['Dockerfile', 'app.py', 'manifest.yaml', 'vendor/lib/lib.py']);
    const tarBytes = gunzipSync(await readFile(packed.archivePath));
    expect(tarBytes.includes(Buffer.from(EXTRAHEADER))).toBe(false);
    expect(tarBytes.includes(Buffer.from('extraheader'))).toBe(false);
    await packed.dispose();
  });

  it('refuses an include path or a symlink into .git', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    gitCheckout(repo);
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project', '.git']));
    await expect(loadManifest(path.join(repo, 'manifest.yaml'))).rejects.toThrow(/include_paths\.1.*"\.git" is inside a \.git folder, which is never packed/);
    await symlink('../.git/config', path.join(repo, 'project/config'));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml')))).rejects.toThrow(/the symlink project\/config points into a \.git folder/);
  });
});

describe('special files are refused by name', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('a FIFO, which would block the read forever', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    execFileSync('mkfifo', [path.join(repo, 'project/pipe')]);
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml')))).rejects.toThrow(
      /project\/pipe is a named pipe \(FIFO\); a build context holds only files and folders/,
    );
  });

  it('a socket, unless .dockerignore leaves it out', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    const listening = createServer();
    server = listening;
    await new Promise<void>((resolve) => listening.listen(path.join(repo, 'project/agent.sock'), resolve));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml')))).rejects.toThrow(/project\/agent\.sock is a socket/);
    await writeFile(path.join(repo, '.dockerignore'), '*.sock\n');
    await writeFile(
      path.join(repo, 'manifest.yaml'),
      `${manifestText('.', ['project'])}`.replace('dockerfile: Dockerfile', 'dockerfile: Dockerfile\n    dockerignore: .dockerignore'),
    );
    const packed = await packContext(await loadManifest(path.join(repo, 'manifest.yaml')));
    expect(await members(packed.archivePath)).toEqual(['.dockerignore', 'Dockerfile', 'project/app.py']);
    await packed.dispose();
  });

  it('a device and a /proc file, even where the workspace would allow them', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await symlink('/dev/null', path.join(repo, 'project/null'));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml'), { workspace: '/' }))).rejects.toThrow(/project\/null is a character device/);
    await rm(path.join(repo, 'project/null'));
    await symlink('/proc/self/environ', path.join(repo, 'project/environ'));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml'), { workspace: '/' }))).rejects.toThrow(
      /project\/environ \(\/proc\/\d+\/environ\) is on a kernel pseudo file system such as \/proc/,
    );
  });

  it('a symlink that loops back to its own folder', async () => {
    const repo = await folder({ Dockerfile: 'FROM scratch\n', 'project/app.py': 'x\n' });
    await symlink('..', path.join(repo, 'project/up'));
    await writeFile(path.join(repo, 'manifest.yaml'), manifestText('.', ['project']));
    await expect(packContext(await loadManifest(path.join(repo, 'manifest.yaml')))).rejects.toThrow(/the symlink project\/up loops back/);
  });
});
