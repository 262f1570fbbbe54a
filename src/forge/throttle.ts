import type Bottleneck from 'bottleneck';
import BottleneckLight from 'bottleneck/light.js';
import { parseDuration } from '../duration.js';

/**
 * How far apart the forge's writes are spaced. `@octokit/plugin-throttling` (11.0.5,
 * dist-bundle/index.js `createGroups`) spaces every write 1 s apart and every write that notifies
 * (a new comment) 3 s apart, after GitHub's guidance for its secondary rate limits ("wait at least
 * one second between each request" that creates or changes content,
 * docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api). Gitea and
 * Forgejo have no such limits: their `[api]` settings are page and blob sizes only (Forgejo's
 * modules/setting/api.go `API` struct; Gitea's custom/conf/app.example.ini `[api]` section as of
 * go-gitea/gitea#21215), so their writes are serialised but not spaced. A 429 or 403 with
 * Retry-After is still waited out on every forge.
 */
export interface WriteSpacing {
  writeMs: number;
  notifyingWriteMs: number;
}

export const GITHUB_WRITE_SPACING: WriteSpacing = { writeMs: 1000, notifyingWriteMs: 3000 };
export const UNSPACED_WRITES: WriteSpacing = { writeMs: 0, notifyingWriteMs: 0 };

export const WRITE_SPACING_VARIABLE = 'AGENT_PREVIEW_WRITE_SPACING';

/**
 * `AGENT_PREVIEW_WRITE_SPACING`: one spacing for every write to a GitHub API, `0` for none (a GHES
 * whose secondary rate limits are off, or a test forge). Unset: GitHub's guidance above.
 */
export function writeSpacingFromEnv(env: NodeJS.ProcessEnv): WriteSpacing | undefined {
  const text = env[WRITE_SPACING_VARIABLE]?.trim();
  if (!text) return undefined;
  const ms = parseDuration(text, WRITE_SPACING_VARIABLE, { minMs: 0, maxMs: 60_000 });
  return { writeMs: ms, notifyingWriteMs: ms };
}

type Groups = { write: Bottleneck.Group; notifications: Bottleneck.Group };
const localGroups = new Map<string, Groups>();

/**
 * The throttling plugin's `write` and `notifications` limiter groups for a spacing, as its
 * `throttle` options take them (the plugin keeps `state.write ?? groups.write`), with the plugin's
 * own settings otherwise (maxConcurrent 1, the 2 min Redis TTL). Local groups are made once per
 * spacing per process, so every client of one forge shares them, as the plugin's own are; groups
 * kept in Redis are made once by their caller, per connection.
 */
export function writeLimiterGroups(spacing: WriteSpacing, clustered?: { Bottleneck: typeof Bottleneck; connection: Bottleneck.IORedisConnection }): Groups {
  const key = `${spacing.writeMs}-${spacing.notifyingWriteMs}`;
  const make = (): Groups => {
    const Limiter = clustered?.Bottleneck ?? BottleneckLight;
    const common = { maxConcurrent: 1, timeout: 2 * 60 * 1000, ...(clustered ? { connection: clustered.connection } : {}) };
    return {
      write: new Limiter.Group({ id: `agent-preview-write-${key}`, minTime: spacing.writeMs, ...common }),
      notifications: new Limiter.Group({ id: `agent-preview-notifications-${key}`, minTime: spacing.notifyingWriteMs, ...common }),
    };
  };
  if (clustered) return make();
  let groups = localGroups.get(key);
  if (!groups) localGroups.set(key, (groups = make()));
  return groups;
}
