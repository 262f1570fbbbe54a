/**
 * Compares strings by Unicode code point, as Python compares `str` (the SDK sorts archive members
 * and tree-hash lines with `sorted()`). JavaScript's `<` compares UTF-16 code units instead, which
 * puts characters above U+FFFF (emoji, stored as surrogates D800–DFFF) before U+E000–U+FFFF
 * (full-width forms, private use). Only when both differing units are at or above U+D800 can the
 * two orders disagree; then surrogates move above U+FFFF and the rest move down.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
