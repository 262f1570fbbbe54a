import { InputError } from '../errors.js';
import { createPlatform, parsePlatformName, PLATFORM_KEY_VARIABLES, type PlatformName, type PlatformSettings } from '../platforms/index.js';
import type { Platform } from '../platforms/platform.js';
import { REPO_CONFIG_PATH } from '../previews/repo-config.js';
import type { PlatformFor } from './deliveries.js';

/**
 * The platform client for a repository's `platform:` option, one per name. A repository may choose
 * only a platform the app holds credentials for: the app's own (`AGENT_PREVIEW_PLATFORM`), or one
 * whose key variable the app was given. Otherwise a repository could point the app at a platform it
 * was never meant to call, with defaults nobody chose (`local` is `127.0.0.1:4141`, keyless).
 * `create` builds a client for an accepted name; the app's own settings (its URL, its key) go only
 * to the app's own platform.
 */
export function repoPlatforms(appPlatform: string | undefined, env: NodeJS.ProcessEnv, create: (name: PlatformName, own: boolean) => Platform): PlatformFor {
  const own = parsePlatformName(appPlatform);
  const clients = new Map<string, Platform>();
  return (requested) => {
    const name = requested === undefined ? own : parsePlatformName(requested, `${REPO_CONFIG_PATH}: platform`);
    refuseWithoutCredentials(name, own, env);
    let client = clients.get(name);
    if (!client) clients.set(name, (client = create(name, name === own)));
    return client;
  };
}

function refuseWithoutCredentials(name: PlatformName, own: PlatformName, env: NodeJS.ProcessEnv): void {
  if (name === own) return;
  const keyVariable = PLATFORM_KEY_VARIABLES[name];
  if (name !== 'local' && env[keyVariable]?.trim()) return;
  const why = name === 'local' ? 'the local platform is for development and this app does not run on it' : `the app holds no ${name} credentials (${keyVariable} is not set)`;
  throw new InputError(`${REPO_CONFIG_PATH} asks for platform "${name}", but ${why}; this app serves ${own} previews only`, {
    file: REPO_CONFIG_PATH,
    field: 'platform',
  });
}

/**
 * The app's platform clients, one per platform name, from its settings: the app's own URL and key
 * go to its own platform; another platform a repository may choose reads its own variables.
 * `given` (tests) replaces them all.
 */
export function appPlatforms(settings: PlatformSettings, env: NodeJS.ProcessEnv, given?: PlatformFor): PlatformFor {
  if (given) return given;
  const platformEnv = settings.env ?? env;
  return repoPlatforms(settings.platform, platformEnv, (platform, own) =>
    createPlatform(own ? { ...settings, env: platformEnv, platform } : { env: platformEnv, platform, onRetry: settings.onRetry }),
  );
}
