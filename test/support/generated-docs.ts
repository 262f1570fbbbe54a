// Blocks of the documentation that tests generate from the code (the README's example comment, the
// action's inputs and outputs), between an opening and a closing HTML comment that render as nothing.
// A test compares the block with what the code makes now; UPDATE_DOCS=1 rewrites it instead.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './agents.js';

export function generatedMarkers(name: string, test: string): { start: string; end: string } {
  return { start: `<!-- generated: ${name}, by ${test}; do not edit by hand -->`, end: `<!-- /generated: ${name} -->` };
}

/** The block `name` of `file` (relative to the repository) as it is, and as it should be; with UPDATE_DOCS=1 it is rewritten first. */
export async function generatedBlock(file: string, name: string, test: string, content: string): Promise<{ shown: string | undefined; expected: string }> {
  const { start, end } = generatedMarkers(name, test);
  const expected = `${start}\n${content}\n${end}`;
  const absolute = path.join(REPO_ROOT, file);
  const text = await readFile(absolute, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from === -1 || to === -1) return { shown: undefined, expected };
  const shown = text.slice(from, to + end.length);
  if (process.env.UPDATE_DOCS === '1' && shown !== expected) {
    await writeFile(absolute, text.replace(shown, expected));
    return { shown: expected, expected };
  }
  return { shown, expected };
}
