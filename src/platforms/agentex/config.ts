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

/** The env variable SGP's docs name for the Agentex server (which holds conversations, unlike the SGP API). */
export const AGENTEX_SERVER_VARIABLE = 'AGENTEX_BASE_URL';

/** Why an Agentex platform without the server's address cannot talk to its previews, and what to set. */
export const NO_AGENTEX_SERVER =
  "talking to an Agentex preview needs the Agentex server's address, which is not the SGP API: set the agentex-url input, pass --agentex-url, or set AGENTEX_BASE_URL";

/** The Agentex server's address from the explicit setting, else `AGENTEX_BASE_URL`; undefined when neither is set. */
export function resolveAgentexServerUrl(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = nonEmpty(explicit) ?? nonEmpty(env[AGENTEX_SERVER_VARIABLE]);
  return url ? checkApiUrl(url, { example: 'https://agentex.example.com', keyVariable: 'SGP_API_KEY', field: 'agentex-url' }) : undefined;
}
