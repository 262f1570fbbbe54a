// The local platform is a product of the CLI: it and its own dependencies (busboy, tar) stay out of
// the action and app bundles, which run on every pull request and in the webhook app.
const CLI_ONLY = [/^src\/local-platform\//, /(^|\/)node_modules\/(busboy|streamsearch|tar|minizlib|minipass|chownr|yallist|@isaacs\/fs-minipass)\//];

/** Names every input of a non-CLI bundle that only the CLI may hold; an empty list when all is well. */
export function cliOnlyInputsOutsideCli(metafile) {
  const found = [];
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js') || output.startsWith('dist/cli/')) continue;
    for (const input of Object.keys(inputs)) {
      if (CLI_ONLY.some((pattern) => pattern.test(input))) found.push(`${output}: ${input}`);
    }
  }
  return found;
}

/** Fails the build when the action or app bundle pulls in the local platform or its dependencies. */
export function checkBundleBoundaries(metafile) {
  const found = cliOnlyInputsOutsideCli(metafile);
  if (found.length === 0) return;
  throw new Error(`the local platform and its dependencies belong to the CLI bundle only, but:\n  ${found.join('\n  ')}`);
}
