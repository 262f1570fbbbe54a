import { startAppServer, type AppServer, type AppServerOptions } from '../../../src/app/server.js';
import { UNSPACED_WRITES } from '../../../src/forge/throttle.js';
import type { LocalPlatform } from '../../../src/local-platform/index.js';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import type { Platform } from '../../../src/platforms/platform.js';

/**
 * The local platform as the app tests hand it to the app: a client that does no HTTP-level retries,
 * so what a test sees retried is the app's own background retries.
 */
export function appPlatformOn(local: LocalPlatform, apiKey: string): AgentexPlatform {
  return new AgentexPlatform({ name: 'local', baseUrl: local.url, apiKey, accountId: 'acct-local', deploymentsCarryUrl: true, env: {}, retry: { retries: 0 } });
}

export interface TestAppOptions extends Omit<AppServerOptions, 'platformSettings' | 'platformFor' | 'env'> {
  local: LocalPlatform;
  apiKey: string;
  /** The client the app uses for every platform: `appPlatformOn(local, apiKey)` unless given. */
  platform?: Platform;
}

/**
 * The app in this process as the app tests run it: on the local platform (`appPlatformOn` unless
 * `platform` is given), GitHub writes unspaced (the test forges have no secondary rate limits),
 * and no environment of its own. The rest, forges, secrets and logs, is the test's.
 */
export function startTestApp({ local, apiKey, platform = appPlatformOn(local, apiKey), ...options }: TestAppOptions): Promise<AppServer> {
  return startAppServer({
    platformSettings: { platform: 'local', apiUrl: local.url, apiKey },
    writeSpacing: UNSPACED_WRITES,
    platformFor: () => platform,
    env: {},
    ...options,
  });
}
