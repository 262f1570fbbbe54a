import { request } from 'undici';
import { parseDocument } from 'yaml';
describe('toolchain', () => {
  it('runs ESM TypeScript with real deps', async () => {
    expect(typeof request).toBe('function');
    expect(parseDocument('a: 1').toJS()).toEqual({ a: 1 });
  });
});
