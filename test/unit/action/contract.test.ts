import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ACTION_INPUTS, ACTION_OUTPUTS, ACTION_STATUSES } from '../../../src/action/inputs.js';
import { REPO_ROOT } from '../../support/agents.js';

describe('action contract', () => {
  it('action.yml, the code and the README name the same inputs and outputs', async () => {
    const action = parse(await readFile(path.join(REPO_ROOT, 'action.yml'), 'utf8'));
    expect(Object.keys(action.inputs).sort()).toEqual([...ACTION_INPUTS].sort());
    expect(Object.keys(action.outputs).sort()).toEqual([...ACTION_OUTPUTS].sort());
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/action/index.js' });

    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Inputs'), readme.indexOf('Outputs:', readme.indexOf('### Inputs')));
    const documented = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...ACTION_INPUTS].sort());
    for (const output of ACTION_OUTPUTS) expect(readme).toContain(`\`${output}\``);
  });

  it("action.yml's status output names every status the action can set", async () => {
    const action = parse(await readFile(path.join(REPO_ROOT, 'action.yml'), 'utf8'));
    const listed = new Set(String(action.outputs.status.description).match(/\b[a-z]+\b/g));
    expect(ACTION_STATUSES.filter((status) => !listed.has(status))).toEqual([]);
  });

  it('every input is read by the code', async () => {
    const source = await readFile(path.join(REPO_ROOT, 'src', 'action', 'inputs.ts'), 'utf8');
    for (const input of ACTION_INPUTS) expect(source).toMatch(new RegExp(`rawInput\\(env, '${input}'\\)|booleanInput\\(env, '${input}'`));
  });
});
