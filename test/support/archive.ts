import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { c as createTar } from 'tar';

/** A real tar.gz of the given files, written to a temporary folder. */
export async function makeArchive(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-archive-'));
  const root = path.join(dir, 'root');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
  const file = path.join(dir, 'context.tar.gz');
  await createTar({ gzip: true, file, cwd: root, portable: true }, Object.keys(files));
  return file;
}
