import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HELLO_AGENT = path.join(REPO_ROOT, 'examples', 'hello-agent');

const made: string[] = [];

/** A private copy of examples/hello-agent to change freely; removed by `removeAgentCopies`. */
export async function copyHelloAgent(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-agent-'));
  made.push(dir);
  await cp(HELLO_AGENT, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

export async function editFile(file: string, change: (text: string) => string): Promise<void> {
  await writeFile(file, change(await readFile(file, 'utf8')));
}

export async function removeAgentCopies(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
