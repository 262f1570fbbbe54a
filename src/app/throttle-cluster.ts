import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { ProbotOctokit } from 'probot';
import { redact } from '../secrets/redact.js';

/**
 * Probot's Octokit with the throttling plugin's limiters kept in Redis (Bottleneck clustering), so
 * every replica counts against one shared budget of GitHub's rate limits. Probot does the same from
 * its `redisConfig` (probot@14:lib/octokit/get-octokit-throttle-options.js), but loads ioredis there
 * through `npx-import-light` at run time, which a bundled app cannot; here ioredis is bundled. The
 * throttle options Probot sets (its rate-limit handlers) are kept; only the Bottleneck connection
 * and a shared id are added (octokit/plugin-throttling.js: `connection`, `Bottleneck`, `id`).
 */
export function clusteredOctokit(redisUrl: string, onError: (message: string) => void): { Octokit: typeof ProbotOctokit; close(): Promise<void> } {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined); // reported through the connection below
  // `Redis` given, so Bottleneck does not `eval("require")("ioredis")`, which a bundle cannot answer.
  const connection = new Bottleneck.IORedisConnection({ client, Redis } as Bottleneck.IORedisConnectionOptions);
  connection.on('error', (err: Error) => onError(redact(err.message)));
  type Options = ConstructorParameters<typeof ProbotOctokit>[0] & { throttle?: object };
  class ClusteredOctokit extends ProbotOctokit {
    constructor(options: Options = {}) {
      super({ ...options, throttle: { ...options.throttle, Bottleneck, connection, id: 'agent-preview' } as Options['throttle'] });
    }
  }
  return {
    Octokit: ClusteredOctokit as unknown as typeof ProbotOctokit,
    close: async () => {
      await connection.disconnect(true).catch(() => undefined);
      client.disconnect();
    },
  };
}
