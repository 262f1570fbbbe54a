import { lstatSync, readdirSync, realpathSync, statfsSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { IgnoreRules, type IgnoreOptions } from './ignore.js';
import { compareCodePoints } from './order.js';
import type { AgentManifest, ContextEntry } from './types.js';
import { isInside, isInsideGit } from './workspace.js';

export { IgnoreRules } from './ignore.js';

// Cited below as ${SDK}: scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0

/**
 * Pseudo file systems whose files are not what their size says (torvalds/linux:include/uapi/linux/magic.h):
 * proc, sysfs, debugfs, tracefs, securityfs, cgroup, cgroup2, configfs, efivarfs, bpf, pstore, binfmt_misc.
 */
const PSEUDO_FILE_SYSTEMS = new Set([0x9fa0, 0x62656572, 0x64626720, 0x74726163, 0x73636673, 0x27e0eb, 0x63677270, 0x62656570, 0xde5e81e4, 0xcafe4a11, 0x6165676c, 0x42494e4d]);

function modeOf(statMode: number): number {
  // The SDK hashes `st_mode & S_IXUSR` (${SDK}:src/agentex/lib/utils/build_provenance.py `working_tree_hash`).
  return statMode & 0o100 ? 0o755 : 0o644;
}

function specialKind(info: Stats | Dirent): string | undefined {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return undefined;
}

export interface CollectOptions extends IgnoreOptions {
  /**
   * Real paths of files never to pack (the archive being written, which may lie inside an include
   * path): each is left out and reported with its archive path.
   */
  exclude?: ReadonlySet<string>;
  onExcluded?: (archivePath: string) => void;
}

/**
 * The staged build context, sorted by archive path in code-point order (the SDK's `sorted()` over
 * `str`, ${SDK}:src/agentex/lib/utils/build_provenance.py `iter_context_files`): `Dockerfile` and
 * `.dockerignore` at the root (`BuildContextManager.add_dockerfile`/`add_dockerignore`, ${SDK}:
 * src/agentex/lib/sdk/config/agent_manifest.py), then each include path at its place under the
 * context root, filtered by IgnoreRules. Symlinks are followed, as `shutil.copytree` without
 * `symlinks=True` copies what they point at.
 *
 * Differences from the SDK, all refusals or omissions for safety: nothing whose real path is outside
 * the workspace, no `.git` entry at any depth, and no FIFO, socket, device or pseudo-file-system
 * file (the SDK would hang on a FIFO or read a device forever).
 */
export async function collectContext(manifest: AgentManifest, options: CollectOptions = {}): Promise<ContextEntry[]> {
  const workspace = manifest.build.workspace;
  const root = realpathSync(manifest.build.root);
  const rules = await IgnoreRules.fromFile(manifest.build.dockerignore, options);
  const entries = new Map<string, ContextEntry>();
  const checkedDevices = new Map<number, boolean>();

  const refuse = (message: string): never => {
    throw new InputError(message, { file: manifest.file, field: 'build.context.include_paths' });
  };
  const fileEntry = (archivePath: string, source: string, info: Stats): ContextEntry => {
    let pseudo = checkedDevices.get(info.dev);
    if (pseudo === undefined) {
      pseudo = PSEUDO_FILE_SYSTEMS.has(statfsSync(source).type);
      checkedDevices.set(info.dev, pseudo);
    }
    if (pseudo) refuse(`${archivePath} (${source}) is on a kernel pseudo file system such as /proc; it cannot be packed`);
    return { path: archivePath, source, type: 'file', mode: modeOf(info.mode), size: info.size };
  };

  entries.set('Dockerfile', fileEntry('Dockerfile', realpathSync(manifest.build.dockerfile), statSync(manifest.build.dockerfile)));
  if (manifest.build.dockerignore) {
    entries.set('.dockerignore', fileEntry('.dockerignore', realpathSync(manifest.build.dockerignore), statSync(manifest.build.dockerignore)));
  }

  // Real paths of the folders being walked, to refuse a symlink that loops back (the SDK's copytree
  // would recurse until the path is too long).
  const ancestors = new Set<string>();
  // Synchronous calls on purpose: walking thousands of entries through the thread pool costs
  // several times more than the work itself, and nothing else runs while packing.
  const visit = (real: string, relative: string, known: Dirent | undefined, top: boolean): void => {
    if (!top) {
      const name = known!.name;
      if (name === '.git') return;
      if (rules.sdkIgnoresName(name)) return;
    }
    // A plain file meets Docker's rule once, below; anything else may be pruned before it is resolved.
    const plainFile = known !== undefined && known.isFile();
    if (!plainFile && relative !== '.' && rules.dockerPrunes(relative)) return;

    let info: Stats | Dirent | undefined = known;
    let stats: Stats | undefined;
    if (!info || info.isSymbolicLink()) {
      info = stats = lstatSync(real);
      if (stats.isSymbolicLink()) {
        try {
          real = realpathSync(real);
        } catch {
          refuse(`the symlink ${relative} points to something that does not exist; remove it or add it to .dockerignore`);
        }
        if (!isInside(workspace.dir, real)) {
          refuse(`the symlink ${relative} points outside ${workspace.describe} (to ${real}); copy the file in or remove the link`);
        }
        if (isInsideGit(workspace.dir, real)) refuse(`the symlink ${relative} points into a .git folder (${real}), which is never packed`);
        info = stats = statSync(real);
      }
    }
    const special = specialKind(info);
    if (special) refuse(`${relative} is ${special}; a build context holds only files and folders. Remove it or add it to .dockerignore`);

    if (info.isDirectory()) {
      if (ancestors.has(real)) refuse(`the symlink ${relative} loops back to a folder that contains it (${real}); remove it or add it to .dockerignore`);
      ancestors.add(real);
      for (const child of readdirSync(real, { withFileTypes: true })) {
        visit(`${real}/${child.name}`, relative === '.' ? child.name : `${relative}/${child.name}`, child, false);
      }
      ancestors.delete(real);
      return;
    }
    if (rules.dockerIgnoresFile(relative)) return;
    if (options.exclude?.has(real)) {
      options.onExcluded?.(relative);
      return;
    }
    entries.set(relative, fileEntry(relative, real, stats ?? statSync(real)));
  };

  for (const include of manifest.build.includePaths) {
    const absolute = path.resolve(root, include);
    if (!isInside(root, absolute)) refuse(`"${include}" leaves the build context root`);
    // The folders above the include path count as containing it, so a link to one of them is a loop too.
    ancestors.clear();
    for (let above = path.dirname(absolute); isInside(root, above); above = path.dirname(above)) {
      ancestors.add(realpathSync(above));
      if (above === root) break;
    }
    visit(realpathSync(absolute), include, undefined, true);
  }
  return [...entries.values()].sort((a, b) => compareCodePoints(a.path, b.path));
}
