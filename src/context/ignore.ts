import * as dockerignoreModule from '@balena/dockerignore';
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { fnmatchToRegExp, FnmatchPatternError } from './fnmatch.js';

type DockerIgnore = { add(patterns: string[]): DockerIgnore; ignores(path: string): boolean };
type CreateIgnore = (options?: { ignorecase?: boolean }) => DockerIgnore;
// A CommonJS package: Node, esbuild and SWC each hand its function over at a different depth.
const moduleValue = dockerignoreModule as unknown as { default?: CreateIgnore | { default?: CreateIgnore } };
const dockerignore: CreateIgnore = typeof moduleValue.default === 'function' ? moduleValue.default : (moduleValue.default?.default ?? (moduleValue as unknown as CreateIgnore));

// Cited below as ${SDK}: scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:src/agentex/lib/sdk/config/agent_manifest.py

// Python's str.strip() with no argument: the characters for which str.isspace() is true
// (CPython 3.11; U+FEFF is not one of them, unlike JavaScript's trim()).
const PYTHON_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PYTHON_STRIP = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, 'g');

/**
 * The SDK's patterns (`_extract_dockerignore_patterns`, ${SDK}): the file opened in text mode
 * (universal newlines: `\n`, `\r\n` and `\r` end a line; UTF-8 ASSUMED as the locale encoding, and a
 * BOM is kept as U+FEFF), each line cut at its first `#` and stripped; empty lines dropped. A line
 * starting with `!` stays a literal name.
 */
export function sdkPatterns(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.split('#', 1)[0].replace(PYTHON_STRIP, ''))
    .filter(Boolean);
}

/**
 * Docker's patterns, read as BuildKit reads them (moby/patternmatcher@5a6d8429a19bb6948a372ff19e86fe83599a04b7:
 * ignorefile/ignorefile.go `ReadAll`): a BOM stripped from the first line, `\n`-separated lines with
 * a trailing `\r` dropped, lines *starting* with `#` skipped (a `#` elsewhere is part of the pattern).
 * Trimming, `!`, cleaning and the leading `/` are left to @balena/dockerignore, which follows the same file.
 */
export function dockerPatterns(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/\r$/, '')).filter((line) => !line.startsWith('#') && line.trim() !== '');
}

export interface IgnoreOptions {
  /** Also leave out what Docker's own rule drops (the default); false packs exactly what the SDK stages. */
  docker?: boolean;
}

/**
 * What to leave out of the staged context.
 *
 * The SDK's rule: include paths are copied with `shutil.copytree(..., ignore=shutil.ignore_patterns(*lines))`
 * (${SDK}, `add_directory`), so every line is matched with Python's fnmatch against the *names* of the
 * entries inside an include path, at every depth, never against the include path itself. A matching
 * folder is skipped whole: the SDK has no exceptions.
 *
 * Docker's rule, applied deliberately on top by default: the staged `.dockerignore` sits at the
 * context root, so Docker drops the same paths again when it builds; leaving them out saves the
 * upload and changes nothing in the image. Its patterns are anchored at the context root.
 */
export class IgnoreRules {
  private readonly namePatterns: RegExp[];
  private readonly docker?: DockerIgnore;
  private readonly dockerHasExceptions: boolean;

  constructor(text: string, options: IgnoreOptions & { file?: string } = {}) {
    this.namePatterns = sdkPatterns(text).map((pattern) => {
      try {
        return fnmatchToRegExp(pattern);
      } catch (err) {
        if (!(err instanceof FnmatchPatternError)) throw err;
        throw new InputError(`the pattern "${pattern}" is not one Python's fnmatch can read (${err.message}); the Agentex SDK fails on it too`, {
          file: options.file,
        });
      }
    });
    if (options.docker ?? true) {
      const patterns = dockerPatterns(text);
      this.docker = dockerignore({ ignorecase: false }).add(patterns);
      this.dockerHasExceptions = patterns.some((pattern) => pattern.trim().startsWith('!'));
    } else {
      this.dockerHasExceptions = false;
    }
  }

  static async fromFile(file: string | undefined, options: IgnoreOptions = {}): Promise<IgnoreRules> {
    if (!file) return new IgnoreRules('', options);
    const bytes = await readFile(file);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new InputError('.dockerignore is not valid UTF-8; the Agentex SDK cannot read it either. Save it as UTF-8', { file });
    }
    return new IgnoreRules(text, { ...options, file });
  }

  /** The SDK's rule, for an entry *inside* an include path. */
  sdkIgnoresName(name: string): boolean {
    for (const pattern of this.namePatterns) if (pattern.test(name)) return true;
    return false;
  }

  /** Docker's rule drops this path and nothing inside it can be brought back by a `!` line. */
  dockerPrunes(relative: string): boolean {
    return this.docker !== undefined && !this.dockerHasExceptions && this.docker.ignores(relative);
  }

  /** Docker's rule drops this file. */
  dockerIgnoresFile(relative: string): boolean {
    return this.docker !== undefined && this.docker.ignores(relative);
  }
}
