export { MutxPlatform, describeAgent, previewAgentName, previewLabelOf, toDeployment, type MutxPlatformOptions } from './mutx.js';
export { resolveMutxSettings, type MutxSettings, type MutxSettingsInput } from './config.js';
export { deployPhase, RESTARTABLE_STATUSES, SCALABLE_STATUSES } from './status.js';
