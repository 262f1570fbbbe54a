import type { Workspace } from './workspace.js';

/** The shapes the build-context code hands to the rest of the program. */

export interface AgentCredential {
  envVarName: string;
  secretName: string;
  secretKey: string;
}

/** A validated `manifest.yaml`. Paths are absolute; `text` is sent to the platform unchanged. */
export interface AgentManifest {
  /** Absolute path of the manifest file. */
  file: string;
  /** Folder that holds the manifest; `build.context.root` is relative to it. */
  dir: string;
  /** The file's text, sent as `manifest_file`. */
  text: string;
  agent: {
    name: string;
    acpType?: 'sync' | 'async' | 'agentic';
    description?: string;
    credentials: AgentCredential[];
  };
  build: {
    /** The folder nothing packed may come from outside of (see workspace.ts). */
    workspace: Workspace;
    /** Absolute context root. */
    root: string;
    /** POSIX paths relative to `root`, as written in the manifest. */
    includePaths: string[];
    /** Absolute path of the Dockerfile. */
    dockerfile: string;
    /** Absolute path of the .dockerignore, when the manifest names one. */
    dockerignore?: string;
    /** Pack with the SDK's .dockerignore rule alone (`--sdk-exact`), so the hash always equals the SDK's. */
    sdkExact?: boolean;
  };
  /** Image name (last segment of `deployment.image.repository`, else the agent name) and tag. */
  image: { name: string; tag: string; /** `deployment.image.repository` as written, for platforms that deploy a pushed image. */ repository?: string };
  /** Non-fatal findings (a named .dockerignore that does not exist, for example). */
  warnings: string[];
}

export interface AgentEnvironment {
  name: string;
  namespace: string;
  environment?: 'dev' | 'staging' | 'prod';
}

/** A validated `environments.yaml`. */
export interface EnvironmentsFile {
  file: string;
  /** The file's text, sent as `environment_config`. */
  text: string;
  environments: Record<string, AgentEnvironment>;
}

/** One member of the staged build context, in archive order. */
export interface ContextEntry {
  /** POSIX path inside the archive (and in the tree hash). */
  path: string;
  /** Absolute path on disk it comes from. */
  source: string;
  type: 'file' | 'symlink';
  /** 0o644 or 0o755 for files, 0o777 for symlinks. */
  mode: number;
  size: number;
  linkTarget?: string;
}

export interface PackedContext {
  /** The tar.gz on disk. */
  archivePath: string;
  archiveBytes: number;
  /** The SDK's `working_tree_hash` of the staged context. */
  treeHash: string;
  fileCount: number;
  uncompressedBytes: number;
  /** Archive paths of files left out because they are the archive itself (written inside an include path). */
  leftOut: string[];
  /** Removes the archive when it was written to a temporary place. */
  dispose(): Promise<void>;
}
