import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { resolvePreviewLabel, type PreviewLabels } from '../pipeline/label.js';
import type { Reporter } from '../pipeline/reporter.js';
import { formatSourceRepo, sourceRepoFromRemote, type SourceRepo } from '../pipeline/source-repo.js';
import type { CliContext } from './context.js';
import { prNumber, repoOption } from './options.js';

/** Whose previews a command acts on: `--repo`, else the checkout's `origin` remote, else none known. */
export interface CliRepository {
  repo?: SourceRepo;
  from: 'option' | 'origin' | 'none';
}

/**
 * Whether git could find a repository from `cwd`. Unless GIT_DIR names one, git looks in `cwd` and in
 * each folder above it for `.git` (a folder, or a file naming one) and for a bare repository (a
 * folder holding HEAD, objects and refs): git/git@e5cdb644e1170aa909748bf9d743ac27d5584b34
 * setup.c, `setup_git_directory_gently_1`. Where no such folder has a `.git` or a `HEAD`, git can
 * only answer "not a git repository", so it is not started (a process per command, for nothing).
 */
function mayFindRepository(cwd: string): boolean {
  if (process.env.GIT_DIR) return true;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.git')) || existsSync(path.join(dir, 'HEAD'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/** `git remote get-url origin` in `cwd`; undefined outside a checkout, without an origin, or without git. */
async function originRemote(cwd: string): Promise<string | undefined> {
  if (!mayFindRepository(cwd)) return undefined;
  return new Promise((resolve) => {
    // The same call, and the same 5 s bound, as the Agentex SDK's own provenance capture
    // (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0: src/agentex/lib/utils/build_provenance.py).
    execFile('git', ['-C', cwd, 'remote', 'get-url', 'origin'], { timeout: 5000, windowsHide: true }, (error, stdout) => resolve(error ? undefined : stdout.trim()));
  });
}

/**
 * The repository the CLI acts for: `--repo` as given, else the one the checkout's `origin` names
 * (said on stderr, since it changes which labels are meant), else none.
 */
export async function cliRepository(cli: CliContext, repoText: string | undefined, reporter: Reporter): Promise<CliRepository> {
  const given = repoOption(repoText);
  if (given) return { repo: given, from: 'option' };
  const cwd = cli.io.cwd ?? process.cwd();
  const repo = sourceRepoFromRemote(await originRemote(cwd));
  if (!repo) return { from: 'none' };
  reporter.info(`repository ${formatSourceRepo(repo)} (the checkout's git remote origin; --repo names another)`);
  return { repo, from: 'origin' };
}

export interface LabelRequest {
  label?: string;
  pr?: string;
}

export interface ChosenLabels {
  labels: PreviewLabels;
  /** The repository the labels were resolved for, and whose previews alone a teardown may delete. */
  repo?: SourceRepo;
  /** `--pr` as a number. */
  pr?: number;
}

/**
 * The preview labels `--label`/`--pr` mean for this repository, as the action resolves them: `--pr`
 * and templates carry the repository's hash (`pr-7-3f9a2c`). A literal `--label` is taken as written
 * when the repository was only inferred from the checkout, so a label copied from `status` or a
 * comment names that preview; with `--repo` it carries the hash, as it always has.
 */
export function previewLabelsFor(cli: CliContext, request: LabelRequest, repository: CliRepository): ChosenLabels {
  const pr = prNumber(request.pr);
  if (request.label && pr !== undefined && !request.label.includes('{number}')) {
    throw new InputError(`--pr ${pr} would not be used: --label "${request.label}" has no {number}; give --pr alone, or a --label template with {number}`, {
      field: '--label',
    });
  }
  const literal = Boolean(request.label) && !/\{[^{}]*\}/.test(request.label!);
  const repo = literal && repository.from === 'origin' ? undefined : repository.repo;
  return { labels: resolvePreviewLabel(request.label, { number: pr }, '--label', cli.labelRule(), repo), repo, pr };
}

/** Labels of the form `<label>-<hex>`: this PR's previews as some repository's run labelled them. */
export function hashedVariantsOf(label: string, labels: Iterable<string | undefined>, except: ReadonlySet<string>): string[] {
  const hashed = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{6,}$`);
  return [...new Set([...labels].filter((candidate): candidate is string => Boolean(candidate && hashed.test(candidate) && !except.has(candidate))))].sort();
}

/** What to say when a PR's label found nothing but previews of that PR labelled for a repository exist. */
export function hashedLabelsHint(pr: number, plain: string, found: string[], repository: CliRepository): string {
  const where =
    repository.from === 'none'
      ? 'no repository is known here (no --repo, and no git remote origin in this folder)'
      : `this run looks for ${formatSourceRepo(repository.repo!)}'s (${repository.from === 'origin' ? 'from git remote origin' : 'from --repo'})`;
  return `nothing is labelled for PR ${pr} as asked, but previews of PR ${pr} carry a repository's hash: ${found.join(', ')}; ${where}. Run this in the repository's checkout, pass --repo host/owner/repo, or name one with --label (plain label: ${plain})`;
}
