// A build context that would leave the workspace stops the CLI before any request to the platform.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';

const platform = useLocalPlatform('sk-escape-Qw8Lp3Zx');
const made: string[] = [];
afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** outer/{other-project/credentials.json, repo/ (a git checkout holding the agent)}. */
async function layout(root: string, includePaths: (outerName: string) => string[], dockerfile: (outerName: string) => string): Promise<string> {
  const outer = await mkdtemp(path.join(tmpdir(), 'ap-escape-'));
  const outerName = path.basename(outer);
  made.push(outer);
  await mkdir(path.join(outer, 'other-project'), { recursive: true });
  await writeFile(path.join(outer, 'other-project/credentials.json'), '{"private_key":"-----BEGIN KEY-----"}');
  await mkdir(path.join(outer, 'repo/agent'), { recursive: true });
  execFileSync('git', ['init', '-q', path.join(outer, 'repo')]);
  await writeFile(path.join(outer, 'repo/agent/Dockerfile'), 'FROM scratch\n');
  const manifest = path.join(outer, 'repo/agent/manifest.yaml');
  await writeFile(
    manifest,
    `build:\n  context:\n    root: ${root}\n    include_paths: ${JSON.stringify(includePaths(outerName))}\n    dockerfile: ${dockerfile(outerName)}\nagent:\n  name: escape-agent\n`,
  );
  return manifest;
}

it('refuses an include path that root: ../../.. reaches outside the repository, with exit 2, naming the field, and sends nothing', async () => {
  // From repo/agent, ../../.. is the folder above `outer`: the temporary folder, shared with everything else.
  const manifest = await layout(
    '../../..',
    (outer) => [`${outer}/other-project`],
    (outer) => `${outer}/repo/agent/Dockerfile`,
  );
  const run = await runCli(['build', '-m', manifest], { env: platform.env });
  expect(run.stderr).toMatch(/manifest\.yaml:4.*build\.context\.include_paths\.0.*other-project.*outside the repository/);
  expect(run.code).toBe(2);
  expect(platform.local.requests).toEqual([]);
});

it("refuses a root one level above the repository (../.. from repo/agent) to reach a sibling folder's credentials.json, and sends nothing", async () => {
  const manifest = await layout(
    '../..',
    () => ['other-project', 'repo/agent'],
    () => 'repo/agent/Dockerfile',
  );
  const run = await runCli(['build', '-m', manifest], { env: platform.env });
  expect(run.stderr).toMatch(/build\.context\.include_paths\.0.*"other-project".*outside the repository/);
  expect(run.stderr).not.toContain('private_key');
  expect(run.code).toBe(2);
  expect(platform.local.requests).toEqual([]);
});
