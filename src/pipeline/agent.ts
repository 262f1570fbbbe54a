import { stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { findEnvironmentsFile, loadEnvironments, loadManifest, selectEnvironment } from '../context/manifest.js';
import { findSmokeFile, loadSmokeScript, type SmokeScript } from '../conversation/script.js';
import { packContext } from '../context/pack.js';
import type { AgentEnvironment, AgentManifest, EnvironmentsFile, PackedContext } from '../context/types.js';
import { InputError } from '../errors.js';
import type { Reporter } from './reporter.js';

/** An agent whose manifest and environments have been read and validated; nothing sent anywhere yet. */
export interface LoadedAgent {
  manifest: AgentManifest;
  environments?: EnvironmentsFile;
  environment?: AgentEnvironment;
  /** The agent's `preview-smoke.yaml`, when it has one (checked whole before anything is deployed). */
  smoke?: SmokeScript;
}

/** A loaded agent with its build context packed on disk. */
export interface PreparedAgent extends LoadedAgent {
  packed: PackedContext;
}

export interface LoadOptions {
  /** Which entry of environments.yaml to deploy with. */
  environment?: string;
  /** Deploys need environments.yaml; builds do not. */
  requireEnvironment?: boolean;
  /** Pack with the SDK's .dockerignore rule alone (`--sdk-exact`, the `sdk-exact` input). */
  sdkExact?: boolean;
  /** Read and check `preview-smoke.yaml` beside the manifest (default true; the `smoke: off` input skips it). */
  smoke?: boolean;
  /** Where `GITHUB_WORKSPACE` is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Expands globs (picomatch syntax: `*`, `**`, `?`, `[ab]`, `{a,b}`; matching manifest files) against
 * `base`, for the action's `manifest` input and the CLI's `-m` alike; plain paths are resolved and
 * must exist later. Patterns keep their order, each glob's matches sorted; `field` names the input or flag.
 */
export async function expandManifestPatterns(patterns: string[], base: string, field: string): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    if (!picomatch.scan(pattern).isGlob) {
      found.add(path.resolve(base, pattern));
      continue;
    }
    let matches: string[];
    try {
      matches = await glob(pattern.replace(/^\.\//, ''), {
        cwd: base,
        absolute: true,
        onlyFiles: true,
        dot: true,
        expandDirectories: false,
        followSymbolicLinks: false,
        ignore: ['**/node_modules/**', '**/.git/**'],
      });
    } catch (err) {
      throw new InputError(`"${pattern}" is not a valid glob: ${(err as Error).message}`, { field });
    }
    if (matches.length === 0) throw new InputError(`"${pattern}" matches no file in ${base}`, { field });
    for (const match of matches.map((file) => path.normalize(file)).sort()) found.add(match);
  }
  return [...found];
}

/** Accepts a manifest file or the folder that holds `manifest.yaml`. */
export async function resolveManifestPath(input: string, field = 'manifest'): Promise<string> {
  const absolute = path.resolve(input);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new InputError(`${input} does not exist; point at the agent's manifest.yaml`, { field });
  if (info.isDirectory()) {
    const inside = path.join(absolute, 'manifest.yaml');
    if (!(await stat(inside).catch(() => undefined))?.isFile()) {
      throw new InputError(`${input} is a folder without a manifest.yaml`, { field });
    }
    return inside;
  }
  return absolute;
}

export async function loadAgent(manifestInput: string, options: LoadOptions = {}): Promise<LoadedAgent> {
  const manifest = await loadManifest(await resolveManifestPath(manifestInput), { sdkExact: options.sdkExact, env: options.env });
  const smokeFile = options.smoke === false ? undefined : await findSmokeFile(manifest.dir);
  const smoke = smokeFile ? await loadSmokeScript(smokeFile) : undefined;
  const environmentsPath = await findEnvironmentsFile(manifest);
  if (!environmentsPath) {
    if (options.requireEnvironment) {
      throw new InputError(`no environments.yaml beside the manifest; a deploy needs one naming the namespace (see examples/hello-agent/environments.yaml)`, {
        file: path.join(manifest.dir, 'environments.yaml'),
      });
    }
    return { manifest, smoke };
  }
  const environments = await loadEnvironments(environmentsPath);
  return { manifest, environments, environment: selectEnvironment(environments, options.environment), smoke };
}

/**
 * Loads and validates every manifest before anything touches the network, so one bad file stops
 * the run before any build starts.
 */
export async function loadAgents(manifestInputs: string[], options: LoadOptions = {}): Promise<LoadedAgent[]> {
  if (manifestInputs.length === 0) throw new InputError('no manifest given', { field: 'manifest' });
  const agents: LoadedAgent[] = [];
  const seen = new Map<string, string>();
  for (const input of manifestInputs) {
    const agent = await loadAgent(input, options);
    const name = agent.manifest.agent.name;
    const earlier = seen.get(name);
    if (earlier && earlier !== agent.manifest.file) {
      throw new InputError(`agent "${name}" is also defined by ${earlier}; agent names must be unique`, {
        file: agent.manifest.file,
        field: 'agent.name',
      });
    }
    if (!earlier) {
      seen.set(name, agent.manifest.file);
      agents.push(agent);
    }
  }
  return agents;
}

export async function packAgent(agent: LoadedAgent, options: { reporter: Reporter; signal?: AbortSignal; outFile?: string }): Promise<PreparedAgent> {
  const name = agent.manifest.agent.name;
  for (const warning of agent.manifest.warnings) options.reporter.warn(`${name}: ${warning}`);
  options.reporter.step(name, 'packing the build context');
  const packed = await packContext(agent.manifest, { signal: options.signal, outFile: options.outFile });
  return { ...agent, packed };
}
