import * as dockerignoreModule from '@balena/dockerignore';
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { AgentManifest, ContextEntry } from './types.js';

type DockerIgnore = { add(patterns: string[]): DockerIgnore; ignores(path: string): boolean };
type CreateIgnore = (options?: { ignorecase?: boolean }) => DockerIgnore;
// A CommonJS package: Node, esbuild and SWC each hand its function over at a different depth.
const moduleValue = dockerignoreModule as unknown as { default?: CreateIgnore | { default?: CreateIgnore } };
const dockerignore: CreateIgnore =
  typeof moduleValue.default === 'function' ? moduleValue.default : (moduleValue.default?.default ?? (moduleValue as unknown as CreateIgnore));

/**
 * What to leave out of the staged context. The Agentex SDK copies include paths with
 * `shutil.ignore_patterns`, matching each .dockerignore line against every file and folder *name*;
 * Docker then applies the same file with its own path rules when it builds. A path either rule
 * drops is left out, so the archive holds what the SDK would stage minus what Docker would ignore
 * anyway.
 */
export class IgnoreRules {
  private readonly docker: DockerIgnore;
  private readonly namePatterns: RegExp[];
  private readonly hasExceptions: boolean;

  constructor(lines: string[]) {
    const patterns = lines.map((line) => line.split('#', 1)[0].trim()).filter(Boolean);
    this.docker = dockerignore({ ignorecase: false }).add(patterns);
    this.namePatterns = patterns.filter((pattern) => !pattern.startsWith('!')).map(fnmatchToRegExp);
    this.hasExceptions = patterns.some((pattern) => pattern.startsWith('!'));
  }

  static async fromFile(file: string | undefined): Promise<IgnoreRules> {
    return new IgnoreRules(file ? (await readFile(file, 'utf8')).split(/\r?\n/) : []);
  }

  private nameIgnored(name: string): boolean {
    return this.namePatterns.some((pattern) => pattern.test(name));
  }

  ignoresFile(relative: string): boolean {
    return this.nameIgnored(path.posix.basename(relative)) || this.docker.ignores(relative);
  }

  /** A folder is skipped whole only when no `!exception` could bring something inside it back. */
  prunesFolder(relative: string): boolean {
    if (this.nameIgnored(path.posix.basename(relative))) return true;
    return !this.hasExceptions && this.docker.ignores(relative);
  }
}

/** Python's fnmatch for one name: `*`, `?`, `[seq]`, `[!seq]`. */
function fnmatchToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) source += '\\[';
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        source += `[${set}]`;
        i = end;
      }
    } else source += char.replace(/[.+^${}()|\\\]/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

function modeOf(statMode: number): number {
  // eslint-disable-next-line no-bitwise
  return statMode & 0o100 ? 0o755 : 0o644;
}

/**
 * The staged build context, sorted by archive path: `Dockerfile` and `.dockerignore` at the root,
 * then each include path at its place under the context root, filtered. Symlinks are followed (the
 * SDK copies what they point at) and refused when they point outside the context root.
 */
export async function collectContext(manifest: AgentManifest): Promise<ContextEntry[]> {
  const root = await realpath(manifest.build.root);
  const rules = await IgnoreRules.fromFile(manifest.build.dockerignore);
  const entries = new Map<string, ContextEntry>();

  const addFile = async (archivePath: string, source: string) => {
    const info = await stat(source);
    entries.set(archivePath, { path: archivePath, source, type: 'file', mode: modeOf(info.mode), size: info.size });
  };
  await addFile('Dockerfile', manifest.build.dockerfile);
  if (manifest.build.dockerignore) await addFile('.dockerignore', manifest.build.dockerignore);

  const visiting = new Set<string>();
  // Synchronous calls on purpose: walking thousands of entries through the thread pool costs
  // several times more than the work itself, and nothing else runs while packing.
  const walk = (absolute: string, relative: string, known?: Dirent): void => {
    let real = absolute;
    let isDirectory = known ? known.isDirectory() : false;
    let isFile = known ? known.isFile() : false;
    if (!known || known.isSymbolicLink()) {
      const info = lstatSync(absolute);
      isDirectory = info.isDirectory();
      isFile = info.isFile();
      if (info.isSymbolicLink()) {
        try {
          real = realpathSync(absolute);
        } catch {
          throw new InputError(`the symlink ${relative} points to something that does not exist; remove it or add it to .dockerignore`, {
            file: manifest.file,
          });
        }
        if (!isInside(root, real)) {
          throw new InputError(`the symlink ${relative} points outside the build context (${real}); copy the file in or remove the link`, {
            file: manifest.file,
            field: 'build.context.include_paths',
          });
        }
        const target = statSync(real);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      }
    }
    if (isDirectory) {
      if (relative !== '.' && rules.prunesFolder(relative)) return;
      const key = realpathSync(real);
      if (visiting.has(key)) return;
      visiting.add(key);
      const children = readdirSync(absolute, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const child of children) walk(path.join(absolute, child.name), relative === '.' ? child.name : `${relative}/${child.name}`, child);
      visiting.delete(key);
      return;
    }
    if (!isFile || rules.ignoresFile(relative)) return;
    const info = statSync(real);
    entries.set(relative, { path: relative, source: real, type: 'file', mode: modeOf(info.mode), size: info.size });
  };

  for (const include of manifest.build.includePaths) {
    const absolute = path.resolve(root, include);
    if (!isInside(root, absolute)) {
      throw new InputError(`"${include}" leaves the build context root`, { file: manifest.file, field: 'build.context.include_paths' });
    }
    walk(absolute, include);
  }
  return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
