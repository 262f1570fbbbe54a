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

// One copy of each HTTP stack in every bundle: npm `overrides` in package.json pin the copies other
// packages ask for (@actions/github's undici and @actions/http-client) to ours. A second copy costs
// start time (README, Benchmarks) and sends some calls past the proxy dispatcher (src/http/proxy.ts).
const ONE_COPY = ['undici', '@actions/http-client'];

/** Names every bundle that holds two or more copies of a package in ONE_COPY, and where they come from. */
export function duplicatedHttpStacks(metafile) {
  const found = [];
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    for (const name of ONE_COPY) {
      const copies = new Set();
      for (const input of Object.keys(inputs)) {
        const at = input.lastIndexOf(`node_modules/${name}/`);
        if (at >= 0) copies.add(input.slice(0, at + `node_modules/${name}`.length));
      }
      if (copies.size > 1) found.push(`${output}: ${[...copies].sort().join(', ')}`);
    }
  }
  return found;
}

/** Fails the build when the action or app bundle pulls in the local platform or its dependencies, or a bundle holds two copies of an HTTP stack. */
export function checkBundleBoundaries(metafile) {
  const crossed = cliOnlyInputsOutsideCli(metafile);
  if (crossed.length) throw new Error(`the local platform and its dependencies belong to the CLI bundle only, but:\n  ${crossed.join('\n  ')}`);
  const duplicated = duplicatedHttpStacks(metafile);
  if (duplicated.length) {
    throw new Error(`each bundle holds one undici and one @actions/http-client; pin the other copies to ours with npm overrides in package.json:\n  ${duplicated.join('\n  ')}`);
  }
}
