// Keeps every bundle pure ASCII. esbuild's `charset: 'ascii'` (its default) escapes strings, regular
// expressions, templates and names, but it copies the comments it keeps (those inside class bodies,
// e.g. undici's "Returns response’s type") as written. One byte above 0x7F is enough for Node to
// decode the whole file as UTF-8 into a two-byte string, which V8 then scans at half the speed:
// measured 30–40 ms more CPU on every start of the 2.4 MB action bundle and of the CLI bundle
// (docs/development.md, "Test suite cost").
import { readFile, writeFile } from 'node:fs/promises';

/**
 * The text with each UTF-16 unit above 0x7F written as `\uXXXX`. In a comment that is only other
 * text; in a string, regular expression, template or name (where esbuild leaves none) it is an
 * escape for the very same character.
 */
export function escapeNonAscii(text) {
  return text.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Rewrites each JavaScript output of the build that holds a non-ASCII character; returns the files rewritten. */
export async function makeBundlesAscii(metafile) {
  const rewritten = [];
  for (const file of Object.keys(metafile.outputs).filter((name) => name.endsWith('.js'))) {
    const text = await readFile(file, 'utf8');
    const escaped = escapeNonAscii(text);
    if (escaped === text) continue;
    await writeFile(file, escaped);
    rewritten.push(file);
  }
  return rewritten;
}
