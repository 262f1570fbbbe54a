import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** The folder no byte of a build context may come from outside of, and why it is that folder. */
export interface Workspace {
  /** Real path (symlinks resolved). */
  dir: string;
  /** Said in errors, so a refusal explains where the line is drawn. */
  describe: string;
}

export function isInside(parent: string, candidate: string): boolean {
  const relative = path.relative(parent, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** True when `real` (a real path inside the workspace) lies in a `.git` folder or is one. */
export function isInsideGit(workspace: string, real: string): boolean {
  return path.relative(workspace, real).split(path.sep).includes('.git');
}

function gitTopLevel(start: string): string | undefined {
  // What `git rev-parse --show-toplevel` finds, without running git: the runner's git may refuse a
  // checkout owned by another user ("dubious ownership"), and a missing git must not widen the line.
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (statSync(path.join(dir, '.git'), { throwIfNoEntry: false })) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The workspace of a manifest: `GITHUB_WORKSPACE` when the manifest lies inside it (the action, and
 * any step of a GitHub or Gitea Actions job), else the top level of the git work tree that holds the
 * manifest (the CLI), else the manifest's own folder.
 */
export function findWorkspace(manifestDir: string, env: NodeJS.ProcessEnv = process.env): Workspace {
  const manifestReal = realpathSync(manifestDir);
  const actionWorkspace = env.GITHUB_WORKSPACE ? realOrUndefined(env.GITHUB_WORKSPACE) : undefined;
  if (actionWorkspace) {
    if (isInside(actionWorkspace, manifestReal)) return { dir: actionWorkspace, describe: `the workspace ${actionWorkspace} (GITHUB_WORKSPACE)` };
  }
  const top = gitTopLevel(manifestReal);
  if (top) return { dir: top, describe: `the repository ${top} (its git top level)` };
  return { dir: manifestReal, describe: `the manifest's folder ${manifestReal} (it is in no git work tree)` };
}

function realOrUndefined(dir: string): string | undefined {
  try {
    return realpathSync(path.resolve(dir));
  } catch {
    return undefined;
  }
}

/** A workspace given by the caller, resolved to its real path. */
export function givenWorkspace(dir: string): Workspace {
  const real = realpathSync(path.resolve(dir));
  return { dir: real, describe: `the workspace ${real}` };
}
