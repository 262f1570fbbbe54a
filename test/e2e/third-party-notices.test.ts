import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../support/agents.js';

const DIST = path.join(REPO_ROOT, 'dist');

/**
 * esbuild writes a `// node_modules/<package>/<file>` comment before every module it bundles (without
 * minification): read the shipped bundle itself, not the build's own idea of what went in.
 */
async function bundledPackages(bundle: string): Promise<Map<string, string>> {
  const text = await readFile(bundle, 'utf8');
  const packages = new Map<string, string>();
  for (const match of text.matchAll(/^\/\/ ((?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+)\//gm)) {
    const dir = match[1];
    if (packages.has(dir)) continue;
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, dir, 'package.json'), 'utf8')) as { name: string; version: string };
    packages.set(dir, `${manifest.name}@${manifest.version}`);
  }
  return packages;
}

async function bundleFolders(): Promise<{ folder: string; bundles: string[] }[]> {
  const folders = (await readdir(DIST, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return Promise.all(folders.map(async (folder) => ({ folder, bundles: (await readdir(path.join(DIST, folder))).filter((name) => name.endsWith('.js')) })));
}

describe('third-party notices beside the bundles', () => {
  it('every folder of bundles ships a THIRD_PARTY_NOTICES naming every bundled package, its license and its license text', async () => {
    const folders = await bundleFolders();
    expect(folders.map((entry) => entry.folder)).toEqual(expect.arrayContaining(['action', 'app', 'cli']));
    const missing: string[] = [];
    for (const { folder, bundles } of folders) {
      const notices = await readFile(path.join(DIST, folder, 'THIRD_PARTY_NOTICES'), 'utf8');
      const sections = new Map(notices.split(/^=+$/m).map((section) => [section.trim().split(' ')[0], section] as const));
      for (const bundle of bundles) {
        const packages = await bundledPackages(path.join(DIST, folder, bundle));
        expect(packages.size).toBeGreaterThan(0);
        for (const id of packages.values()) {
          const section = sections.get(id);
          const hasLicense = section !== undefined && /^\S+ \([^)]+\)$/m.test(section) && /^--- \S+ ---$|ships no license file/m.test(section);
          if (!hasLicense || !section.includes(bundle)) missing.push(`${folder}/${bundle}: ${id}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('carries the Apache-2.0 license and copyright of @balena/dockerignore with the CLI and the action', async () => {
    for (const folder of ['cli', 'action']) {
      const notices = await readFile(path.join(DIST, folder, 'THIRD_PARTY_NOTICES'), 'utf8');
      const entry = notices.split(/^=+$/m).find((section) => section.includes('@balena/dockerignore@'))!;
      expect(entry).toMatch(/^@balena\/dockerignore@\S+ \(Apache-2\.0\)$/m);
      expect(entry).toContain('Copyright 2020 Balena Ltd.');
      expect(entry).toContain('Apache License');
    }
  });
});
