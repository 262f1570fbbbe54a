// Writes dist/<door>/THIRD_PARTY_NOTICES: the license (and NOTICE, which Apache-2.0 requires to travel
// with the code) of every npm package esbuild put into that folder's bundles. Hand-written because
// esbuild's `legalComments: 'linked'` only collects /*! @license */ comments, and most of our
// dependencies (Apache-2.0 @balena/dockerignore among them) carry their license in a file instead:
// with 'linked' every .LEGAL.txt came out empty.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const LICENSE_FILE = /^(licen[cs]e|copying)(\..*)?$/i;
const NOTICE_FILE = /^notice(\..*)?$/i;

/** The package folder ("node_modules/@scope/name", nested ones kept) an input file belongs to. */
export function packageDirOf(input) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replaceAll('\\', '/'));
  return match ? match[1] : undefined;
}

/** Package folders bundled into each output file, from esbuild's metafile. */
export function bundledPackageDirs(metafile) {
  const byOutput = new Map();
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    const dirs = new Set(Object.keys(inputs).map(packageDirOf).filter(Boolean));
    byOutput.set(output, [...dirs].sort());
  }
  return byOutput;
}

async function filesMatching(dir, pattern) {
  const names = (await readdir(dir)).filter((name) => pattern.test(name)).sort();
  return Promise.all(names.map(async (name) => ({ name, text: (await readFile(path.join(dir, name), 'utf8')).trim() })));
}

function repositoryUrl(manifest) {
  const repository = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  return (repository ?? manifest.homepage ?? '').replace(/^git\+/, '');
}

async function describePackage(dir) {
  const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
  const license = typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? 'UNKNOWN');
  return {
    name: manifest.name,
    version: manifest.version,
    license,
    repository: repositoryUrl(manifest),
    licenseFiles: await filesMatching(dir, LICENSE_FILE),
    noticeFiles: await filesMatching(dir, NOTICE_FILE),
  };
}

function render(folder, bundles, packages) {
  const rule = '='.repeat(78);
  const lines = [
    `Third-party software bundled in ${bundles.map((bundle) => `${folder}/${bundle}`).join(', ')}`,
    `(${packages.length} npm packages; each entry gives the package, its version, its license and the`,
    'license text it ships with).',
    '',
  ];
  for (const entry of packages) {
    lines.push(rule, `${entry.name}@${entry.version} (${entry.license})`);
    if (entry.repository) lines.push(entry.repository);
    lines.push(`In: ${entry.bundles.join(', ')}`, '');
    if (entry.licenseFiles.length === 0) lines.push(`The package ships no license file; its package.json declares ${entry.license}.`, '');
    for (const file of [...entry.licenseFiles, ...entry.noticeFiles]) lines.push(`--- ${file.name} ---`, file.text, '');
  }
  return `${lines.join('\n')}\n`;
}

/** Writes one THIRD_PARTY_NOTICES per output folder and returns the paths written. */
export async function writeThirdPartyNotices(metafile, outdir = 'dist') {
  const folders = new Map();
  for (const [output, dirs] of bundledPackageDirs(metafile)) {
    const folder = path.dirname(output);
    const bundle = path.basename(output);
    const perFolder = folders.get(folder) ?? new Map();
    folders.set(folder, perFolder);
    for (const dir of dirs) perFolder.set(dir, [...(perFolder.get(dir) ?? []), bundle]);
  }
  const written = [];
  for (const [folder, perFolder] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    const byKey = new Map();
    for (const [dir, bundles] of perFolder) {
      const entry = await describePackage(dir);
      const key = `${entry.name}@${entry.version}`;
      const known = byKey.get(key);
      if (known) known.bundles = [...new Set([...known.bundles, ...bundles])].sort();
      else byKey.set(key, { ...entry, bundles: [...bundles].sort() });
    }
    const packages = [...byKey.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
    const bundles = [...new Set([...perFolder.values()].flat())].sort();
    const relative = path.relative(outdir, folder).replaceAll('\\', '/');
    const file = path.join(folder, 'THIRD_PARTY_NOTICES');
    await writeFile(file, render(`${path.basename(outdir)}/${relative}`, bundles, packages));
    written.push(file);
  }
  return written;
}
