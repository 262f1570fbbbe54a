// Every relative link and #anchor in the README, the changelog and docs/ leads somewhere: the file or
// folder exists in the repository, and the anchor is a heading of that page as GitHub slugs it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../support/agents.js';
import { anchorsOf, documentationFiles, linksOf, type MarkdownFile } from '../../support/markdown.js';

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

async function brokenLinks(page: MarkdownFile, pages: Map<string, MarkdownFile>): Promise<string[]> {
  const broken: string[] = [];
  for (const { url, line } of linksOf(page.tree)) {
    if (EXTERNAL.test(url)) continue;
    const [target, anchor] = url.split('#', 2) as [string, string | undefined];
    const file = target ? path.posix.normalize(path.posix.join(path.posix.dirname(page.file), decodeURIComponent(target))).replace(/\/$/, '') : page.file;
    const where = `${page.file}:${line} → ${url}`;
    if (file.startsWith('..')) {
      broken.push(`${where}: leaves the repository`);
      continue;
    }
    const exists = await stat(path.join(REPO_ROOT, file)).then(
      () => true,
      () => false,
    );
    if (!exists) {
      broken.push(`${where}: ${file} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    const linked = pages.get(file);
    if (!linked) broken.push(`${where}: an anchor into ${file}, which is not one of the checked Markdown pages`);
    else if (!anchorsOf(linked.tree).has(anchor)) broken.push(`${where}: ${file} has no heading whose anchor is #${anchor}`);
  }
  return broken;
}

it('every relative link and anchor in README.md, CHANGELOG.md and docs/*.md resolves', async () => {
  const pages = await documentationFiles();
  const byFile = new Map(pages.map((page) => [page.file, page]));
  const broken = (await Promise.all(pages.map((page) => brokenLinks(page, byFile)))).flat();
  expect(broken).toEqual([]);
  // The check sees links at all: the README links into docs/ and to its own sections.
  expect(linksOf(byFile.get('README.md')!.tree).filter(({ url }) => url.startsWith('docs/')).length).toBeGreaterThan(5);
});
