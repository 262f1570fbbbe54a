// The README names every input and output of action.yml (docs/action.md explains each, generated from it).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../support/agents.js';

it('the README names every input and output of action.yml, as code', async () => {
  const action = parse(await readFile(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const named = (name: string) => readme.includes(`\`${name}\``);
  expect(Object.keys(action.inputs).filter((name) => !named(name))).toEqual([]);
  expect(Object.keys(action.outputs).filter((name) => !named(name))).toEqual([]);
});
