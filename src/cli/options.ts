import { InputError } from '../errors.js';
import { parseSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

/** `--pr`: a pull request number, so `--pr abc` is refused rather than made a label. */
export function prNumber(text: string): number;
export function prNumber(text: string | undefined): number | undefined;
export function prNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text.trim())) throw new InputError(`"${text}" is not a pull request number`, { field: '--pr' });
  return Number(text.trim());
}

/** `--repo host/owner/repo`, checked. */
export function repoOption(text: string | undefined): SourceRepo | undefined {
  if (text === undefined) return undefined;
  const repo = parseSourceRepo(text);
  if (!repo) throw new InputError(`"${text}" is not host/owner/repo, e.g. github.com/acme/agents`, { field: '--repo' });
  return repo;
}
