/**
 * Python's `fnmatch.fnmatchcase` for one file name, as the Agentex SDK applies `.dockerignore`
 * lines through `shutil.ignore_patterns` (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:
 * src/agentex/lib/sdk/config/agent_manifest.py, `add_directory`). Hand-written because no npm glob
 * library has Python's rules: `[!x]` negates, `[^x]` is the literal set {`^`, `x`}, `[]]` matches
 * `]`, a reversed range such as `[z-a]` matches nothing, `!` at the start of a line is a literal
 * character, and `*` also matches `/`. Ported from CPython 3.11 Lib/fnmatch.py `translate` (the SDK
 * requires Python >= 3.11), working on code points as Python's `str` does.
 */

/** Thrown for a pattern that Python's `re` refuses too, so the SDK would fail on it. */
export class FnmatchPatternError extends Error {}

const REGEX_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function literal(char: string): string {
  return REGEX_SYNTAX.has(char) ? `\\${char}` : char;
}

function codePointEscape(char: string): string {
  return `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

/**
 * The body of one `[...]` set as Python's `re` reads what `translate` builds from it: `chunks` are
 * the pieces between range hyphens (literal hyphens and backslashes inside them escaped by Python,
 * so plain characters here), joined by range hyphens.
 */
function setToRegExp(chunks: string[][], negate: boolean): string {
  // Python re's set parser (sre_parse, the "[" branch) over `chunk0 - chunk1 - ...`: a character
  // followed by an unescaped hyphen and another character is a range.
  type Token = { char: string } | { rangeHyphen: true };
  const tokens: Token[] = [];
  chunks.forEach((chunk, index) => {
    if (index > 0) tokens.push({ rangeHyphen: true });
    for (const char of chunk) tokens.push({ char });
  });
  let body = '';
  for (let at = 0; at < tokens.length; at++) {
    const token = tokens[at];
    if (!('char' in token)) {
      // A range hyphen with nothing usable before it is a literal hyphen (sre reads it as a character).
      body += codePointEscape('-');
      continue;
    }
    const next = tokens[at + 1];
    const after = tokens[at + 2];
    if (next && !('char' in next)) {
      if (!after) {
        // `x-` at the end of the set: `x` and a literal hyphen.
        body += codePointEscape(token.char) + codePointEscape('-');
        at += 1;
        continue;
      }
      const high = 'char' in after ? after.char : '-';
      if (high.codePointAt(0)! < token.char.codePointAt(0)!) throw new FnmatchPatternError('bad character range');
      body += `${codePointEscape(token.char)}-${codePointEscape(high)}`;
      at += 2;
      continue;
    }
    body += codePointEscape(token.char);
  }
  return `[${negate ? '^' : ''}${body}]`;
}

/** The JavaScript equivalent of `re.compile(fnmatch.translate(pattern))`, matched against a whole name. */
export function fnmatchToRegExp(pattern: string): RegExp {
  const pat = [...pattern];
  const n = pat.length;
  let source = '';
  let i = 0;
  while (i < n) {
    const c = pat[i];
    i += 1;
    if (c === '*') {
      if (!source.endsWith('[^]*')) source += '[^]*';
    } else if (c === '?') {
      source += '[^]';
    } else if (c === '[') {
      let j = i;
      if (j < n && pat[j] === '!') j += 1;
      if (j < n && pat[j] === ']') j += 1;
      while (j < n && pat[j] !== ']') j += 1;
      if (j >= n) {
        source += '\\[';
        continue;
      }
      let chunks: string[][];
      const stuff = pat.slice(i, j);
      if (!stuff.includes('-')) {
        chunks = [stuff];
      } else {
        chunks = [];
        let k = pat[i] === '!' ? i + 2 : i + 1;
        for (;;) {
          k = pat.indexOf('-', k);
          if (k < 0 || k >= j) break;
          chunks.push(pat.slice(i, k));
          i = k + 1;
          k += 3;
        }
        const chunk = pat.slice(i, j);
        if (chunk.length) chunks.push(chunk);
        else chunks[chunks.length - 1].push('-');
        // Remove empty ranges, as Python does before handing the set to `re`.
        for (let k2 = chunks.length - 1; k2 > 0; k2--) {
          const before = chunks[k2 - 1];
          if (before[before.length - 1].codePointAt(0)! > chunks[k2][0].codePointAt(0)!) {
            chunks[k2 - 1] = [...before.slice(0, -1), ...chunks[k2].slice(1)];
            chunks.splice(k2, 1);
          }
        }
      }
      i = j + 1;
      const flat = chunks.flat();
      const hyphens = chunks.length - 1;
      if (flat.length + hyphens === 0) {
        source += '(?!)';
      } else if (flat.length === 1 && hyphens === 0 && flat[0] === '!') {
        source += '[^]';
      } else if (chunks[0]?.[0] === '!') {
        source += setToRegExp([chunks[0].slice(1), ...chunks.slice(1)], true);
      } else {
        source += setToRegExp(chunks, false);
      }
    } else {
      source += literal(c);
    }
  }
  return new RegExp(`^(?:${source})$`, 'u');
}
