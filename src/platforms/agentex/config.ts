import { checkApiUrl, credentialSetting, nonEmpty } from '../settings.js';

export const DEFAULT_AGENTEX_URL = 'https://api.egp.scale.com';

export interface AgentexSettings {
  baseUrl: string;
  apiKey: string;
  accountId?: string;
}

export interface AgentexSettingsInput {
  baseUrl?: string;
  apiKey?: string;
  accountId?: string;
}

/**
 * Explicit settings first, then `SGP_CLIENT_BASE_URL`, `SGP_API_KEY` and `SGP_ACCOUNT_ID`.
 * The key is registered as a secret before anything can print it.
 */
export function resolveAgentexSettings(input: AgentexSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): AgentexSettings {
  const apiKey = credentialSetting(input.apiKey, env, 'SGP_API_KEY', 'Agentex API key');
  const accountId = nonEmpty(input.accountId) ?? nonEmpty(env.SGP_ACCOUNT_ID);
  const baseUrl = checkApiUrl(nonEmpty(input.baseUrl) ?? nonEmpty(env.SGP_CLIENT_BASE_URL) ?? DEFAULT_AGENTEX_URL, { example: DEFAULT_AGENTEX_URL, keyVariable: 'SGP_API_KEY' });
  return { baseUrl, apiKey, accountId };
}
