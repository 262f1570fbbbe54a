export { NullspacePlatform, agentDeploymentName, idempotencyKey, plainTarDigest, toDeployment, type NullspacePlatformOptions } from './nullspace.js';
export { resolveNullspaceSettings, type NullspaceSettings, type NullspaceSettingsInput } from './config.js';
export { servicePhase, versionPhase } from './status.js';
