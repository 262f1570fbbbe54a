export { collectContext, type CollectOptions } from './collect.js';
export { IgnoreRules } from './ignore.js';
export { findWorkspace, type Workspace } from './workspace.js';
export { findEnvironmentsFile, loadEnvironments, loadManifest, selectEnvironment, type LoadManifestOptions } from './manifest.js';
export { FIXED_MTIME, MAX_CONTEXT_BYTES, packContext, type PackOptions } from './pack.js';
export { treeHashFromDigests, workingTreeHash, type HashedMember, type TreeMode } from './tree-hash.js';
export type * from './types.js';
