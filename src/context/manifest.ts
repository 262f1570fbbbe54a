import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { InputError } from '../errors.js';
import type { AgentCredential, AgentEnvironment, AgentManifest, EnvironmentsFile } from './types.js';
import { findWorkspace, givenWorkspace, isInside, isInsideGit, type Workspace } from './workspace.js';

const AGENT_NAME = /^[a-z0-9-]+$/;
const ACP_TYPES = new Set(['sync', 'async', 'agentic']);
const ENVIRONMENT_KINDS = new Set(['dev', 'staging', 'prod']);

/** A parsed YAML file that can say on which line a field sits. */
class YamlFile {
  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static async read(file: string, what: string): Promise<YamlFile> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(code === 'ENOENT' ? `${what} not found` : `cannot read ${what}: ${(err as Error).message}`, { file });
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const [first] = doc.errors;
    if (first) {
      const line = first.linePos?.[0]?.line ?? lines.linePos(first.pos[0]).line;
      throw new InputError(`invalid YAML: ${first.message.split('\n')[0]}; fix the syntax on that line`, { file, line });
    }
    if (!isMap(doc.contents)) throw new InputError(`${what} must be a YAML mapping (key: value pairs)`, { file, line: 1 });
    return new YamlFile(file, text, doc, lines);
  }

  get(pathParts: (string | number)[]): unknown {
    return this.doc.getIn(pathParts);
  }

  /** The line of the deepest part of `pathParts` that exists. */
  line(pathParts: (string | number)[]): number {
    for (let depth = pathParts.length; depth > 0; depth--) {
      const node = this.doc.getIn(pathParts.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      const pair = depth > 0 ? this.keyNode(pathParts.slice(0, depth)) : undefined;
      const range = pair?.range ?? node?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return 1;
  }

  private keyNode(pathParts: (string | number)[]): { range?: [number, number, number] } | undefined {
    const parent = pathParts.length > 1 ? this.doc.getIn(pathParts.slice(0, -1), true) : this.doc.contents;
    if (!isMap(parent)) return undefined;
    const last = pathParts[pathParts.length - 1];
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
    return pair && isScalar(pair.key) ? (pair.key as { range?: [number, number, number] }) : undefined;
  }

  isSequence(pathParts: (string | number)[]): boolean {
    return isSeq(this.doc.getIn(pathParts, true));
  }

  fail(message: string, pathParts: (string | number)[]): never {
    throw new InputError(message, { file: this.file, line: this.line(pathParts), field: pathParts.join('.') });
  }

  string(pathParts: (string | number)[], options: { required: true }): string;
  string(pathParts: (string | number)[], options?: { required?: boolean }): string | undefined;
  string(pathParts: (string | number)[], options: { required?: boolean } = {}): string | undefined {
    const value = this.get(pathParts);
    if (value === undefined || value === null || value === '') {
      if (options.required) this.fail(`missing; add ${pathParts.join('.')} to the file`, pathParts);
      return undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(`must be a string, not ${describeValue(value)}`, pathParts);
    return String(value);
  }
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value && typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** Resolves a manifest path relative to `base`, refusing absolute paths and paths that leave `within`. */
function containedPath(yaml: YamlFile, field: (string | number)[], base: string, relative: string, within: string, what: string): string {
  if (path.isAbsolute(relative)) yaml.fail(`"${relative}" is absolute; ${what} must be relative`, field);
  const resolved = path.resolve(base, relative);
  const inside = path.relative(within, resolved);
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    yaml.fail(`"${relative}" leaves the build context root ${within}; keep ${what} inside it`, field);
  }
  return resolved;
}

/**
 * Refuses a path whose real location (symlinks followed) is outside the workspace or inside a
 * `.git` folder: the job token that actions/checkout persists in .git/config must never be packed.
 */
async function keepInWorkspace(yaml: YamlFile, field: (string | number)[], resolved: string, text: string, workspace: Workspace, what: string): Promise<void> {
  const real = await realpath(resolved).catch(() => undefined);
  if (real === undefined) return; // existence is checked, with its own message, by the caller
  if (!isInside(workspace.dir, real)) {
    yaml.fail(`"${text}" is ${real}, outside ${workspace.describe}; ${what} must stay inside it`, field);
  }
  if (isInsideGit(workspace.dir, real)) yaml.fail(`"${text}" is inside a .git folder, which is never packed`, field);
}

export interface LoadManifestOptions {
  /** The folder nothing packed may come from outside of; found from the environment and git when absent (see workspace.ts). */
  workspace?: string;
  env?: NodeJS.ProcessEnv;
  /** Pack this agent with the SDK's .dockerignore rule alone (see PackOptions.sdkExact). */
  sdkExact?: boolean;
}

/** Reads and validates an agent's manifest.yaml; every problem names the file, line and field. */
export async function loadManifest(file: string, options: LoadManifestOptions = {}): Promise<AgentManifest> {
  const absolute = path.resolve(file);
  const yaml = await YamlFile.read(absolute, 'manifest.yaml');
  const dir = path.dirname(absolute);
  const workspace = options.workspace ? givenWorkspace(options.workspace) : findWorkspace(dir, options.env);
  const warnings: string[] = [];

  const name = yaml.string(['agent', 'name'], { required: true });
  if (!AGENT_NAME.test(name)) {
    yaml.fail(`"${name}" is not a valid agent name: use lowercase letters, digits and hyphens (^[a-z0-9-]+$)`, ['agent', 'name']);
  }
  const acpType = yaml.string(['agent', 'acp_type']);
  if (acpType !== undefined && !ACP_TYPES.has(acpType)) yaml.fail(`"${acpType}" is not sync, async or agentic`, ['agent', 'acp_type']);
  const credentials: AgentCredential[] = [];
  const rawCredentials = yaml.get(['agent', 'credentials']);
  if (rawCredentials !== undefined && rawCredentials !== null) {
    if (!yaml.isSequence(['agent', 'credentials'])) yaml.fail('must be a list of {env_var_name, secret_name, secret_key}', ['agent', 'credentials']);
    (rawCredentials as { items: unknown[] }).items.forEach((_, index) => {
      const at = ['agent', 'credentials', index];
      credentials.push({
        envVarName: yaml.string([...at, 'env_var_name'], { required: true }),
        secretName: yaml.string([...at, 'secret_name'], { required: true }),
        secretKey: yaml.string([...at, 'secret_key'], { required: true }),
      });
    });
  }

  const rootText = yaml.string(['build', 'context', 'root'], { required: true });
  if (path.isAbsolute(rootText)) yaml.fail(`"${rootText}" is absolute; give the root relative to the manifest's folder`, ['build', 'context', 'root']);
  const root = path.resolve(dir, rootText);
  const rootInfo = await stat(root).catch(() => undefined);
  if (!rootInfo?.isDirectory()) yaml.fail(`the context root ${root} is not a folder`, ['build', 'context', 'root']);
  // The root itself may lie outside the workspace: `agentex init` writes `root: ../` with the agent's
  // own folder as the one include path (scaleapi/scale-agentex-python@37abff88d565dfd1d6673dd30642f9dbaefadfb0:
  // src/agentex/lib/cli/templates/default/manifest.yaml.j2, `root: ../  # Keep this as the default root`,
  // `include_paths: [{{ project_path_from_build_root }}]`), so a repository that is the agent folder
  // has its root one level above the checkout. Nothing is read from the root but what the include
  // paths, the Dockerfile and the .dockerignore name, and each of those must stay inside (below).

  const includeField = ['build', 'context', 'include_paths'];
  const includeValue = yaml.get(includeField) as { items?: unknown[] } | undefined;
  if (!yaml.isSequence(includeField) || !includeValue?.items?.length) {
    yaml.fail('must be a non-empty list of paths relative to build.context.root', includeField);
  }
  const includePaths: string[] = [];
  for (let index = 0; index < (includeValue?.items?.length ?? 0); index++) {
    const item = yaml.string([...includeField, index], { required: true });
    const resolved = containedPath(yaml, [...includeField, index], root, item, root, 'include paths');
    if (!(await stat(resolved).catch(() => undefined))) yaml.fail(`"${item}" does not exist under ${root}`, [...includeField, index]);
    await keepInWorkspace(yaml, [...includeField, index], resolved, item, workspace, 'include paths');
    includePaths.push(path.relative(root, resolved).split(path.sep).join('/') || '.');
  }

  const dockerfileText = yaml.string(['build', 'context', 'dockerfile'], { required: true });
  const dockerfile = containedPath(yaml, ['build', 'context', 'dockerfile'], root, dockerfileText, root, 'the Dockerfile');
  if (!(await stat(dockerfile).catch(() => undefined))?.isFile()) {
    yaml.fail(`the Dockerfile ${dockerfile} does not exist; create it or fix the path`, ['build', 'context', 'dockerfile']);
  }
  await keepInWorkspace(yaml, ['build', 'context', 'dockerfile'], dockerfile, dockerfileText, workspace, 'the Dockerfile');

  let dockerignore: string | undefined;
  const dockerignoreText = yaml.string(['build', 'context', 'dockerignore']);
  if (dockerignoreText) {
    const resolved = containedPath(yaml, ['build', 'context', 'dockerignore'], root, dockerignoreText, root, 'the .dockerignore');
    await keepInWorkspace(yaml, ['build', 'context', 'dockerignore'], resolved, dockerignoreText, workspace, 'the .dockerignore');
    if ((await stat(resolved).catch(() => undefined))?.isFile()) dockerignore = resolved;
    else warnings.push(`${absolute}: the .dockerignore ${resolved} does not exist; packing without one`);
  }

  const repository = yaml.string(['deployment', 'image', 'repository']);
  const tag = yaml.string(['deployment', 'image', 'tag']) ?? 'latest';
  const imageName = repository ? (repository.split('/').filter(Boolean).pop() ?? name) : name;

  return {
    file: absolute,
    dir,
    text: yaml.text,
    agent: { name, acpType: acpType as AgentManifest['agent']['acpType'], description: yaml.string(['agent', 'description']), credentials },
    build: { workspace, root, includePaths, dockerfile, dockerignore, sdkExact: options.sdkExact },
    image: { name: imageName, tag, repository },
    warnings,
  };
}

/** `environments.yaml` beside the manifest, if there is one. */
export async function findEnvironmentsFile(manifest: AgentManifest): Promise<string | undefined> {
  for (const name of ['environments.yaml', 'environments.yml']) {
    const candidate = path.join(manifest.dir, name);
    if ((await stat(candidate).catch(() => undefined))?.isFile()) return candidate;
  }
  return undefined;
}

export async function loadEnvironments(file: string): Promise<EnvironmentsFile> {
  const absolute = path.resolve(file);
  const yaml = await YamlFile.read(absolute, 'environments.yaml');
  const version = yaml.string(['schema_version']);
  if (version !== undefined && version !== 'v1') yaml.fail(`schema_version "${version}" is not supported; use v1`, ['schema_version']);
  const raw = yaml.get(['environments']) as { items?: { key: unknown }[] } | undefined;
  if (!raw || !Array.isArray(raw.items) || yaml.isSequence(['environments']) || raw.items.length === 0) {
    yaml.fail('must map each environment name to its settings, e.g. environments: {dev: {kubernetes: {namespace: my-team}}}', ['environments']);
  }
  const environments: Record<string, AgentEnvironment> = {};
  for (const item of raw?.items ?? []) {
    const name = String(isScalar(item.key) ? item.key.value : item.key);
    const at = ['environments', name];
    const namespace = yaml.string([...at, 'kubernetes', 'namespace']) ?? '';
    const kind = yaml.string([...at, 'environment']);
    if (kind !== undefined && !ENVIRONMENT_KINDS.has(kind)) yaml.fail(`"${kind}" is not dev, staging or prod`, [...at, 'environment']);
    const principal = yaml.get([...at, 'auth', 'principal']) as { items?: unknown[] } | undefined;
    if (principal !== undefined && !isMap(principal)) yaml.fail('must be a mapping with user_id or service_account_id', [...at, 'auth', 'principal']);
    environments[name] = { name, namespace, environment: kind as AgentEnvironment['environment'] };
  }
  return { file: absolute, text: yaml.text, environments };
}

/** The named environment; without a name, the only one, else `dev`. */
export function selectEnvironment(file: EnvironmentsFile, name?: string): AgentEnvironment {
  const names = Object.keys(file.environments);
  if (name) {
    const found = file.environments[name];
    if (!found) throw new InputError(`no environment "${name}"; the file defines ${names.join(', ')}`, { file: file.file, field: 'environments' });
    return found;
  }
  if (names.length === 1) return file.environments[names[0]];
  if (file.environments.dev) return file.environments.dev;
  throw new InputError(`several environments (${names.join(', ')}) and none chosen; pass --environment / the environment input`, {
    file: file.file,
    field: 'environments',
  });
}
