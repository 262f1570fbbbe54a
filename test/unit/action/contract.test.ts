import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ACTION_INPUTS, ACTION_OUTPUTS, ACTION_STATUSES } from '../../../src/action/inputs.js';
import { REPO_ROOT } from '../../support/agents.js';
import { generatedBlock } from '../../support/generated-docs.js';

describe('action contract', () => {
  it('action.yml and the code name the same inputs and outputs, and docs/action.md shows them as action.yml says', async () => {
    const action = parse(await readFile(path.join(REPO_ROOT, 'action.yml'), 'utf8'));
    expect(Object.keys(action.inputs).sort()).toEqual([...ACTION_INPUTS].sort());
    expect(Object.keys(action.outputs).sort()).toEqual([...ACTION_OUTPUTS].sort());
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/action/index.js' });

    // Regenerate with UPDATE_DOCS=1 npm test -- test/unit/action/contract.test.ts
    const inputs = await generatedBlock('docs/action.md', 'action inputs', 'test/unit/action/contract.test.ts', referenceTable(['Input', 'Default', 'Meaning'], action.inputs));
    const outputs = await generatedBlock('docs/action.md', 'action outputs', 'test/unit/action/contract.test.ts', referenceTable(['Output', 'Meaning'], action.outputs));
    expect(inputs.shown).toBe(inputs.expected);
    expect(outputs.shown).toBe(outputs.expected);
    for (const input of ACTION_INPUTS) expect(inputs.expected).toContain(`| \`${input}\` |`);
    for (const output of ACTION_OUTPUTS) expect(outputs.expected).toContain(`| \`${output}\` |`);
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

/** A Markdown table of action.yml's inputs (name, default, description) or outputs (name, description). */
function referenceTable(headings: string[], entries: Record<string, { description: string; default?: string }>): string {
  const cell = (text: string) =>
    text
      .replace(/\s*\n\s*/g, ' ')
      .replace(/\|/g, '\\|')
      .trim();
  const rows = Object.entries(entries).map(([name, entry]) => {
    const cells = [`\`${name}\``];
    if (headings.length === 3) cells.push(entry.default === undefined || entry.default === '' ? '' : `\`${cell(String(entry.default))}\``);
    cells.push(cell(entry.description));
    return `| ${cells.join(' | ')} |`;
  });
  return [`| ${headings.join(' | ')} |`, `| ${headings.map(() => '---').join(' | ')} |`, ...rows].join('\n');
}
