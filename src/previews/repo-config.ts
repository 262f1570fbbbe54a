import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.js';
import { DEFAULT_LABEL_TEMPLATE, requireVaryingPlaceholder } from '../pipeline/label.js';
import { parsePlatformName } from '../platforms/index.js';

/** Read from the repository's default branch, as Probot's `context.config` does. */
export const REPO_CONFIG_FILE = 'agent-preview.yml';
export const REPO_CONFIG_PATH = `.github/${REPO_CONFIG_FILE}`;

/** The options a repository may set in `.github/agent-preview.yml`. */
export interface RepoConfig {
  /** As the action's `preview-label` input: `pr-{number}` unless set. */
  labelTemplate: string;
  /** A platform name for `createPlatform`; the app's own platform when absent. */
  platform?: string;
  /** Manifest paths in the repository; when set, only these agents' previews are removed. */
  manifests: string[];
}

export const DEFAULT_REPO_CONFIG: RepoConfig = { labelTemplate: DEFAULT_LABEL_TEMPLATE, manifests: [] };

/** The config of a repository without the file, under a server's own default label template (the app's `PREVIEW_LABEL`). */
export function repoConfigDefaults(labelTemplate: string | undefined): RepoConfig {
  return { ...DEFAULT_REPO_CONFIG, labelTemplate: labelTemplate?.trim() || DEFAULT_REPO_CONFIG.labelTemplate };
}

/** Validates the parsed file (null when the repository has none); unset options come from `base`. */
export function parseRepoConfig(raw: unknown, base: RepoConfig = DEFAULT_REPO_CONFIG): RepoConfig {
  if (raw === null || raw === undefined) return base;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(`${REPO_CONFIG_PATH} must be a mapping of options`, { field: REPO_CONFIG_PATH });
  }
  const record = raw as Record<string, unknown>;
  const text = (name: string): string | undefined => {
    const value = record[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new InputError(`${REPO_CONFIG_PATH}: ${name} must be a string`, { field: name });
    return value.trim();
  };
  const manifest = record.manifest ?? record.manifests;
  let manifests: string[] = [];
  if (typeof manifest === 'string') manifests = manifest.split(/[\n,]/);
  else if (Array.isArray(manifest) && manifest.every((item) => typeof item === 'string')) manifests = manifest as string[];
  else if (manifest !== undefined && manifest !== null) {
    throw new InputError(`${REPO_CONFIG_PATH}: manifest must be a path or a list of paths`, { field: 'manifest' });
  }
  const labelTemplate = text('preview-label');
  // One label for every pull request would make each close of the repository find all its previews.
  if (labelTemplate) requireVaryingPlaceholder(labelTemplate, { file: REPO_CONFIG_PATH, field: 'preview-label' });
  const platform = text('platform');
  if (platform) parsePlatformName(platform, `${REPO_CONFIG_PATH}: platform`);
  return {
    labelTemplate: labelTemplate || base.labelTemplate,
    platform: platform ?? base.platform,
    manifests: manifests.length ? manifests.map((item) => item.trim()).filter(Boolean) : base.manifests,
  };
}

/** Parses the file's YAML text (undefined when the file does not exist). */
export function parseRepoConfigText(text: string | undefined, base: RepoConfig = DEFAULT_REPO_CONFIG): RepoConfig {
  if (text === undefined) return base;
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InputError(`${REPO_CONFIG_PATH} is not valid YAML: ${(err as Error).message}`, { field: REPO_CONFIG_PATH });
  }
  return parseRepoConfig(raw, base);
}

/** The agent name a manifest declares, if it can be read. */
export function agentNameOfManifest(text: string): string | undefined {
  try {
    const name = (parseYaml(text) as { agent?: { name?: unknown } } | null)?.agent?.name;
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The agents the repository's config names (`manifest`), read from the default branch; undefined
 * (every agent of the repository) when it names none, or when one of them cannot be read or names
 * no agent (`onUnread` is told which).
 */
export async function agentNamesOfConfig(
  config: RepoConfig,
  readFile: (path: string, signal: AbortSignal) => Promise<string | undefined>,
  signal: AbortSignal,
  onUnread: (path: string) => void = () => {},
): Promise<string[] | undefined> {
  if (!config.manifests.length) return undefined;
  const names: string[] = [];
  for (const path of config.manifests) {
    const text = await readFile(path, signal);
    const name = text === undefined ? undefined : agentNameOfManifest(text);
    if (name) names.push(name);
    else onUnread(path);
  }
  return names.length === config.manifests.length ? names : undefined;
}
