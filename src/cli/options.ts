import { InputError } from '../errors.js';
import { parseSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

/** `--repo host/owner/repo`, checked. */
export function repoOption(text: string | undefined): SourceRepo | undefined {
  if (text === undefined) return undefined;
  const repo = parseSourceRepo(text);
  if (!repo) throw new InputError(`"${text}" is not host/owner/repo, e.g. github.com/acme/agents`, { field: '--repo' });
  return repo;
}
