// Bundles each door (CLI, action, app) into dist/ as one ESM file that runs on Node 20 and newer,
// with a THIRD_PARTY_NOTICES file beside each folder of bundles.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { makeBundlesAscii } from './ascii-bundles.mjs';
import { checkBundleBoundaries } from './bundle-boundaries.mjs';
import { writeThirdPartyNotices } from './third-party-notices.mjs';

const entries = [
  { in: 'src/cli/index.ts', out: 'cli/index' },
  { in: 'src/action/index.ts', out: 'action/index' },
  { in: 'src/app/index.ts', out: 'app/index' },
  { in: 'src/app/lambda.ts', out: 'app/lambda' },
  // The app function as a default export, for `probot run` and `probot receive`.
  { in: 'src/app/probot.ts', out: 'app/probot' },
].filter((entry) => existsSync(entry.in));

const result = await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  banner: {
    // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
    js: "import { createRequire as __apCreateRequire } from 'node:module'; const require = __apCreateRequire(import.meta.url);",
  },
});

checkBundleBoundaries(result.metafile);
await makeBundlesAscii(result.metafile);
await writeThirdPartyNotices(result.metafile);
