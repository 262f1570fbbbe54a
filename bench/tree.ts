import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Random bytes written 1 MB at a time, so generating a big tree does not inflate memory figures. */
async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += 1 << 20) await handle.write(randomBytes(Math.min(1 << 20, bytes - written)));
  } finally {
    await handle.close();
  }
}

export interface TreeSpec {
  files: number;
  totalBytes: number;
  /** Share of bytes in incompressible binary blobs. */
  binaryShare: number;
  /** Files under node_modules/, excluded by .dockerignore (not counted in `files`). */
  ignoredFiles: number;
}

const WORDS = 'agent tool call message stream context prompt model token response request handler async await return import export const function class'.split(' ');

function sourceText(bytes: number, seed: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${WORDS[(seed + i) % WORDS.length]}_${i} = ${WORDS[(seed * 7 + i) % WORDS.length]}(${i}, "${WORDS[(i * 3) % WORDS.length]}")  # ${seed}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n').slice(0, bytes);
}

/** A realistic agent tree: source text across nested packages, a few binary blobs, an ignored node_modules. */
export async function generateAgentTree(spec: TreeSpec): Promise<{ root: string; manifest: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'ap-bench-tree-'));
  const project = path.join(root, 'project');
  const blobCount = Math.max(1, Math.round(spec.files * 0.005));
  const blobBytes = Math.floor((spec.totalBytes * spec.binaryShare) / blobCount);
  const textFiles = spec.files - blobCount;
  const textBytes = Math.max(64, Math.floor((spec.totalBytes * (1 - spec.binaryShare)) / textFiles));
  for (let i = 0; i < textFiles; i++) {
    const dir = path.join(project, `pkg${i % 50}`, `mod${i % 7}`);
    if (i < 350) await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `file${i}.py`), sourceText(textBytes, i));
  }
  await mkdir(path.join(project, 'assets'), { recursive: true });
  for (let i = 0; i < blobCount; i++) await writeRandomFile(path.join(project, 'assets', `blob${i}.bin`), blobBytes);
  for (let i = 0; i < spec.ignoredFiles; i++) {
    const dir = path.join(root, 'project', 'node_modules', `dep${i % 40}`);
    if (i < 40) await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `index${i}.js`), sourceText(2048, i));
  }
  await writeFile(path.join(root, 'Dockerfile'), 'FROM python:3.12-slim\nCOPY project /app/project\nCMD ["python", "-m", "project"]\n');
  await writeFile(path.join(root, '.dockerignore'), '**/node_modules\n**/__pycache__\n*.pyc\n');
  await writeFile(path.join(root, 'environments.yaml'), 'schema_version: v1\nenvironments:\n  dev:\n    auth:\n      principal:\n        user_id: bench\n    helm_overrides: {}\n');
  const manifest = path.join(root, 'manifest.yaml');
  await writeFile(
    manifest,
    [
      'build:',
      '  context:',
      '    root: .',
      '    include_paths:',
      '      - project',
      '    dockerfile: Dockerfile',
      '    dockerignore: .dockerignore',
      'agent:',
      '  acp_type: sync',
      '  name: bench-agent',
      '  description: benchmark agent',
      'deployment:',
      '  image:',
      '    repository: registry.example/bench-agent',
      '    tag: latest',
      '',
    ].join('\n'),
  );
  return { root, manifest };
}
