// @ts-expect-error: a plain .mjs build script without types
import { checkBundleBoundaries, cliOnlyInputsOutsideCli, duplicatedHttpStacks } from '../../../scripts/bundle-boundaries.mjs';

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

describe('the build keeps one undici and one @actions/http-client in each bundle', () => {
  it('lets each bundle hold one copy of each, wherever it is installed', () => {
    const metafile = {
      outputs: {
        'dist/action/index.js': inputs('node_modules/undici/index.js', 'node_modules/undici/lib/web/fetch/index.js', 'node_modules/@actions/http-client/lib/index.js'),
        'dist/app/index.js': inputs('node_modules/probot/node_modules/undici/index.js'),
      },
    };
    expect(duplicatedHttpStacks(metafile)).toEqual([]);
    expect(() => checkBundleBoundaries(metafile)).not.toThrow();
  });

  it("fails the build naming the bundle and both copies, as when @actions/github's own copies are not pinned to ours", () => {
    const metafile = {
      outputs: {
        'dist/action/index.js': inputs(
          'node_modules/@actions/http-client/lib/index.js',
          'node_modules/@actions/github/node_modules/@actions/http-client/lib/index.js',
          'node_modules/undici/index.js',
          'node_modules/@actions/github/node_modules/undici/index.js',
        ),
        'dist/cli/index.js': inputs('node_modules/undici/index.js'),
      },
    };
    expect(() => checkBundleBoundaries(metafile)).toThrow(
      'dist/action/index.js: node_modules/@actions/github/node_modules/undici, node_modules/undici\n  dist/action/index.js: node_modules/@actions/github/node_modules/@actions/http-client, node_modules/@actions/http-client',
    );
  });
});
