export { collectContext, IgnoreRules } from './collect.js';
export { findEnvironmentsFile, loadEnvironments, loadManifest, selectEnvironment } from './manifest.js';
export { FIXED_MTIME, MAX_CONTEXT_BYTES, packContext, type PackOptions } from './pack.js';
export { treeHashFromDigests, workingTreeHash, type HashedMember, type TreeMode } from './tree-hash.js';
export type * from './types.js';
