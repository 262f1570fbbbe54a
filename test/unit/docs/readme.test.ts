// The README is the front door: the workflow it gives to copy is the example the examples test runs,
// and every page of docs/ is reachable from its table of links.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../support/agents.js';
import { codeBlocks, linksOf, parseMarkdown } from '../../support/markdown.js';

describe('the README', () => {
  let readme: ReturnType<typeof parseMarkdown>;
  beforeAll(async () => {
    readme = parseMarkdown(await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  });

  it('shows examples/workflows/preview.yml (without its comments) as the workflow to copy', async () => {
    const workflows = codeBlocks(readme, ['yaml']).filter((block) => /^jobs:/m.test(block.value));
    expect(workflows).toHaveLength(1);
    const example = parse(await readFile(path.join(REPO_ROOT, 'examples', 'workflows', 'preview.yml'), 'utf8'));
    expect(parse(workflows[0].value)).toEqual(example);
  });

  it('links every page of docs/', async () => {
    const pages = (await readdir(path.join(REPO_ROOT, 'docs'))).filter((name) => name.endsWith('.md') && name !== 'app-deployment.md');
    const linked = new Set(linksOf(readme).map(({ url }) => url.split('#')[0]));
    expect(pages.filter((name) => !linked.has(`docs/${name}`))).toEqual([]);
  });
});
