// @ts-expect-error: a plain .mjs build script without types
import { checkBundleBoundaries, cliOnlyInputsOutsideCli } from '../../../scripts/bundle-boundaries.mjs';

const inputs = (...paths: string[]) => ({ inputs: Object.fromEntries(paths.map((path) => [path, { bytesInOutput: 1 }])) });

describe('the build keeps the local platform in the CLI bundle', () => {
  it('lets the CLI hold the local platform, busboy and tar', () => {
    const metafile = {
      outputs: {
        'dist/cli/index.js': inputs('src/local-platform/upload.ts', 'node_modules/busboy/lib/index.js', 'node_modules/tar/dist/esm/list.js'),
        'dist/action/index.js': inputs('src/action/main.ts'),
      },
    };
    expect(cliOnlyInputsOutsideCli(metafile)).toEqual([]);
    expect(() => checkBundleBoundaries(metafile)).not.toThrow();
  });

  it('fails the build naming each bundle and input that crossed over', () => {
    const metafile = {
      outputs: {
        'dist/action/index.js': inputs('src/local-platform/index.ts', 'src/action/main.ts'),
        'dist/app/index.js': inputs('node_modules/tar/dist/esm/index.js'),
        'dist/app/index.js.map': inputs('node_modules/busboy/lib/index.js'),
      },
    };
    expect(() => checkBundleBoundaries(metafile)).toThrow(
      /dist\/action\/index\.js: src\/local-platform\/index\.ts\n {2}dist\/app\/index\.js: node_modules\/tar\/dist\/esm\/index\.js$/,
    );
  });
});
