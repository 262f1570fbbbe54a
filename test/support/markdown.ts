// The documentation as GitHub reads it: Markdown (CommonMark with GFM) parsed by micromark's mdast
// tools, and heading anchors made by github-slugger, the slugs GitHub gives headings (lowercased,
// punctuation dropped, spaces to hyphens, -1, -2 for repeats).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import type { Code, Heading, Html, Link, Definition, Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { toString } from 'mdast-util-to-string';
import { gfm } from 'micromark-extension-gfm';
import { REPO_ROOT } from './agents.js';

export interface MarkdownFile {
  /** Relative to the repository, with `/`. */
  file: string;
  tree: Root;
}

/** README.md, CHANGELOG.md and every docs/*.md, parsed. */
export async function documentationFiles(): Promise<MarkdownFile[]> {
  const docs = (await readdir(path.join(REPO_ROOT, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
  return Promise.all(['README.md', 'CHANGELOG.md', ...docs.sort()].map(async (file) => ({ file, tree: parseMarkdown(await readFile(path.join(REPO_ROOT, file), 'utf8')) })));
}

export function parseMarkdown(text: string): Root {
  return fromMarkdown(text, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

function visit(node: Nodes, found: (node: Nodes) => void): void {
  found(node);
  if ('children' in node) for (const child of node.children) visit(child as Nodes, found);
}

function nodesOf<T extends Nodes>(tree: Root, type: T['type']): T[] {
  const nodes: T[] = [];
  visit(tree, (node) => {
    if (node.type === type) nodes.push(node as T);
  });
  return nodes;
}

/** The anchors a page offers: its headings' slugs, and the ids and names of its HTML anchors. */
export function anchorsOf(tree: Root): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set(nodesOf<Heading>(tree, 'heading').map((heading) => slugger.slug(toString(heading))));
  for (const html of nodesOf<Html>(tree, 'html')) for (const match of html.value.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** Every link and link definition's destination, with the line it is on. */
export function linksOf(tree: Root): { url: string; line: number }[] {
  return [...nodesOf<Link>(tree, 'link'), ...nodesOf<Definition>(tree, 'definition')].map((node) => ({ url: node.url, line: node.position?.start.line ?? 0 }));
}

/** The fenced code blocks of the given languages. */
export function codeBlocks(tree: Root, languages: string[]): { value: string; line: number; lang: string }[] {
  return nodesOf<Code>(tree, 'code')
    .filter((code) => code.lang && languages.includes(code.lang))
    .map((code) => ({ value: code.value, line: code.position?.start.line ?? 0, lang: code.lang! }));
}
