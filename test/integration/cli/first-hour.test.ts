import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { list } from 'tar';
import { copyHelloAgent, editFile } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';

// Issue 27, "A new user's first hour": each test failed on the code before its fix.
const API_KEY = 'sk-first-hour-Vb8Nq2Lw5';
const platform = useLocalPlatform(API_KEY);

async function members(archive: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file: archive, onReadEntry: (entry) => names.push(entry.path) });
  return names;
}

describe('pack never packs its own output', () => {
  it('with include_paths [.] and the archive in the agent folder, every pack succeeds with the same hash', async () => {
    const agent = await copyHelloAgent();
    await editFile(path.join(agent, 'manifest.yaml'), (text) => text.replace('      - project\n', '      - .\n'));
    const output = path.join(agent, 'context.tar.gz');
    const hashes: string[] = [];
    for (let run = 0; run < 3; run++) {
      const packed = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
      expect(packed.code).toBe(0);
      hashes.push((JSON.parse(packed.stdout) as { workingTreeHash: string }).workingTreeHash);
    }
    expect(new Set(hashes).size).toBe(1);
    expect(await members(output)).not.toContain('context.tar.gz');
  });

  it('with -o inside an include path, the next archive does not hold the previous one', async () => {
    const agent = await copyHelloAgent();
    const output = path.join(agent, 'project', 'out', 'agent.tgz');
    await mkdir(path.dirname(output));
    const first = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
    const second = await runCli(['--json', 'pack', '-m', agent, '-o', output], { env: {} });
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(JSON.parse(second.stdout).workingTreeHash).toBe(JSON.parse(first.stdout).workingTreeHash);
    expect(await members(output)).not.toContain('project/out/agent.tgz');
    expect(second.stderr).toMatch(/project\/out\/agent\.tgz lies inside the build context; it is left out of the archive/);
  });
});

describe('file-system errors are one line, exit 2, naming the path', () => {
  it('pack -o into a folder that does not exist', async () => {
    const agent = await copyHelloAgent();
    const run = await runCli(['pack', '-m', agent, '-o', '/no/such/dir/x.tgz'], { env: {} });
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'error: cannot write /no/such/dir/x.tgz: the folder /no/such/dir does not exist\n' });
  });

  it('pack -o onto a folder', async () => {
    const agent = await copyHelloAgent();
    const run = await runCli(['pack', '-m', agent, '-o', agent], { env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: cannot write ${agent}: it is a folder\n`);
  });

  it('any other file-system error, e.g. a name too long for the file system', async () => {
    const agent = await copyHelloAgent();
    const output = path.join(agent, `${'x'.repeat(300)}.tgz`);
    const run = await runCli(['pack', '-m', agent, '-o', output], { env: {} });
    expect(run).toEqual({ code: 2, stdout: '', stderr: `error: cannot stat ${output}: name too long\n` });
  });
});
