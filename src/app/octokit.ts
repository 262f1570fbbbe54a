import Bottleneck from 'bottleneck';
import { ProbotOctokit } from 'probot';
import { writeLimiterGroups, type WriteSpacing } from '../forge/throttle.js';
import { redact } from '../secrets/redact.js';

export interface AppOctokitOptions {
  /** REDIS_URL: the limiters live in Redis, so every replica counts against one budget. */
  redisUrl?: string;
  /** AGENT_PREVIEW_WRITE_SPACING: how far apart writes go; the plugin's GitHub spacing unless given. */
  writeSpacing?: WriteSpacing;
  onError: (message: string) => void;
}

/**
 * Probot's Octokit with our throttling settings, or undefined when Probot's own will do. The throttle
 * options Probot sets (its rate-limit handlers) are kept; only limiters are added
 * (octokit/plugin-throttling.js: `connection`, `Bottleneck`, `id`, `write`, `notifications`).
 *
 * With Redis the limiters are clustered (Bottleneck clustering). Probot does the same from its
 * `redisConfig` (probot@14:lib/octokit/get-octokit-throttle-options.js), but loads ioredis there
 * through `npx-import-light` at run time, which a bundled app cannot; here ioredis is bundled.
 */
export async function appOctokit(options: AppOctokitOptions): Promise<{ Octokit?: typeof ProbotOctokit; close(): Promise<void> }> {
  if (!options.redisUrl && !options.writeSpacing) return { close: async () => undefined };
  let throttle: Record<string, unknown> = {};
  let close = async () => undefined;
  if (options.redisUrl) {
    // Loaded only for an app that has REDIS_URL.
    const { Redis } = await import('ioredis');
    const client = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined); // reported through the connection below
    // `Redis` given, so Bottleneck does not `eval("require")("ioredis")`, which a bundle cannot answer.
    const connection = new Bottleneck.IORedisConnection({ client, Redis } as Bottleneck.IORedisConnectionOptions);
    connection.on('error', (err: Error) => options.onError(redact(err.message)));
    throttle = { Bottleneck, connection, id: 'agent-preview', ...(options.writeSpacing ? writeLimiterGroups(options.writeSpacing, { Bottleneck, connection }) : {}) };
    close = async () => {
      await connection.disconnect(true).catch(() => undefined);
      client.disconnect();
    };
  } else if (options.writeSpacing) {
    throttle = writeLimiterGroups(options.writeSpacing);
  }
  type Options = ConstructorParameters<typeof ProbotOctokit>[0] & { throttle?: object };
  class ThrottledOctokit extends ProbotOctokit {
    constructor(octokitOptions: Options = {}) {
      super({ ...octokitOptions, throttle: { ...octokitOptions.throttle, ...throttle } as Options['throttle'] });
    }
  }
  return { Octokit: ThrottledOctokit as unknown as typeof ProbotOctokit, close };
}
