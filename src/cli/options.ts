import { InputError } from '../errors.js';
import { parseSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';

/** `--repo host/owner/repo`, checked. */
export function repoOption(text: string | undefined): SourceRepo | undefined {
  if (text === undefined) return undefined;
  const repo = parseSourceRepo(text);
  if (!repo) throw new InputError(`"${text}" is not host/owner/repo, e.g. github.com/acme/agents`, { field: '--repo' });
  return repo;
}

export function parseBuildArgs(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const args: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InputError(`"${pair}" is not KEY=VALUE`, { field: '--build-arg' });
    args[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return args;
}
