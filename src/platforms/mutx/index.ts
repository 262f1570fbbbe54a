export { MUTX_LABEL_RULE, MutxPlatform, describeAgent, previewAgentName, toDeployment, type MutxPlatformOptions } from './mutx.js';
export { resolveMutxSettings, type MutxSettings, type MutxSettingsInput } from './config.js';
export { deployPhase, LIVE_STATUSES } from './status.js';
