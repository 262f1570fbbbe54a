import { startLocalPlatform, type LocalPlatform, type LocalPlatformOptions } from '../../src/local-platform/index.js';
import { clearSecrets } from '../../src/secrets/redact.js';
import { removeAgentCopies } from './agents.js';
import { allOutput } from './io.js';

export interface LocalPlatformFixture {
  local: LocalPlatform;
  /** What the CLI reads: the key, the platform URL, and a short retry backoff (faults are injected; waiting proves nothing). */
  env: NodeJS.ProcessEnv;
  /** Replaces the running platform with one started with other options. */
  restart(options: LocalPlatformOptions): Promise<void>;
}

/**
 * A fresh local platform for each test, the CLI's env pointing at it, and at the end a search of
 * everything the CLI printed in this file for the API key.
 */
export function useLocalPlatform(apiKey: string, defaults: LocalPlatformOptions = {}): LocalPlatformFixture {
  const fixture = {} as LocalPlatformFixture;
  const start = async (options: LocalPlatformOptions) => {
    fixture.local = await startLocalPlatform({ apiKey, buildStepMs: 30, deployStepMs: 40, ...defaults, ...options });
    fixture.env = { SGP_API_KEY: apiKey, SGP_ACCOUNT_ID: 'acct-test', SGP_CLIENT_BASE_URL: fixture.local.url, AGENT_PREVIEW_RETRY_DELAY: '5ms' };
  };
  fixture.restart = async (options) => {
    await fixture.local.close();
    await start(options);
  };
  beforeEach(() => start({}));
  afterEach(async () => {
    await fixture.local.close();
    await removeAgentCopies();
  });
  afterAll(() => {
    expect(allOutput.filter((text) => text.includes(apiKey))).toEqual([]);
    clearSecrets();
  });
  return fixture;
}
