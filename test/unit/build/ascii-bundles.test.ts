import { runInNewContext } from 'node:vm';
// @ts-expect-error: a plain .mjs build script without types
import { escapeNonAscii } from '../../../scripts/ascii-bundles.mjs';

describe('escapeNonAscii, which keeps the bundles pure ASCII', () => {
  // What esbuild leaves unescaped is in comments; anywhere else an escape must mean the same character.
  const source = [
    '// response’s type → comment',
    '/** a doc comment: café */',
    'const café = "naïve → ok";',
    'const emoji = "😀";',
    'const pattern = /é+/;',
    'const unicodePattern = /😀/u;',
    'const template = `résumé ${café}`;',
    '({ café, emoji, matches: pattern.test("ééé"), unicode: unicodePattern.test("x😀"), length: emoji.length, template })',
  ].join('\n');

  it('leaves no character above 0x7F', () => {
    expect(escapeNonAscii(source)).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it('changes nothing a program computes: strings, names, regular expressions and templates mean the same', () => {
    expect(runInNewContext(escapeNonAscii(source))).toEqual(runInNewContext(source));
    expect(runInNewContext(escapeNonAscii(source))).toMatchObject({ café: 'naïve → ok', emoji: '😀', matches: true, unicode: true, length: 2, template: 'résumé naïve → ok' });
  });

  it('leaves ASCII text as it is', () => {
    const ascii = 'const a = "plain"; // comment\n';
    expect(escapeNonAscii(ascii)).toBe(ascii);
  });
});
