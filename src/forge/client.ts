import { Octokit } from '@octokit/core';
import type { OctokitOptions, OctokitPlugin } from '@octokit/core/types';
import { paginateRest } from '@octokit/plugin-paginate-rest';
import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import { fetch as undiciFetch } from 'undici';
import { registerSecret } from '../secrets/redact.js';
import type { Forge, ForgeKind } from './forge.js';
import { GitHubForge } from './github.js';
import { GiteaForge } from './gitea.js';
import { UNSPACED_WRITES, writeLimiterGroups, type WriteSpacing } from './throttle.js';

/**
 * What a forge adapter needs from an Octokit: `request` and `paginate`. Our own client
 * (`createForgeOctokit`) and Probot's `context.octokit` both have them, with throttling and retry.
 */
export interface ForgeOctokit {
  request(route: string, parameters?: Record<string, unknown>): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>;
  paginate(route: string, parameters?: Record<string, unknown>): Promise<unknown[]>;
}

/**
 * The REST API base of a Gitea or Forgejo server: `<instance>/api/v1`, sub-path kept (Gitea's
 * "API Usage" page, docs.gitea.com/development/api-usage; Forgejo's API is the same). The one place
 * this URL is built.
 */
export function giteaApiUrl(serverUrl: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/api/v1`;
}

export interface ForgeRetryNotice {
  /** `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` */
  call: string;
  reason: string;
  /** Seconds until the retry. */
  retryAfter: number;
  attempt: number;
}

export interface ForgeClientOptions {
  kind: ForgeKind;
  /** GitHub: https://api.github.com or GHES's `<host>/api/v3`; Gitea/Forgejo: `giteaApiUrl(server)`. */
  apiUrl: string;
  token: string;
  /** Told about each rate-limit wait (the action logs it). */
  onRetry?: (notice: ForgeRetryNotice) => void;
  /**
   * Plugin options, for tests to shorten waits (`retryAfterBaseValue`, the limiter groups); the
   * defaults are the plugins' own, which follow GitHub's guidance.
   */
  throttle?: Partial<ThrottlingOptions>;
  retry?: { retries?: number; retryAfterBaseValue?: number };
  /** How far apart GitHub writes go (`writeSpacingFromEnv`); GitHub's guidance unless given. Gitea's are never spaced. */
  writeSpacing?: WriteSpacing;
  /**
   * The client's lifetime: once aborted, every call in flight or waiting to be retried fails at once
   * (the app aborts it when it stops, so that no retry outlives it).
   */
  lifetime?: AbortSignal;
  /** Logins besides the token's own and the Actions bots whose comments are ours (the app's `[bot]`). */
  botLogins?: string[];
  /** How the Octokit is built: `coreOctokit` unless given; the action gives `@actions/github`'s `getOctokit`. */
  octokit?: OctokitFactory;
}

/** How often a rate-limited call is tried again, and the longest wait accepted for it. */
const RATE_LIMIT_RETRIES = 3;
const LONGEST_RATE_LIMIT_WAIT_S = 15 * 60;

/**
 * Builds an Octokit from a token, options and plugins: `@actions/github`'s `getOctokit` has this
 * signature (`getOctokit(token, options, ...additionalPlugins)`, @actions/github@9.1.1:
 * lib/github.js), and the action passes it; `coreOctokit` builds the same client from `@octokit/core`.
 */
export type OctokitFactory = (token: string, options: OctokitOptions, ...plugins: OctokitPlugin[]) => unknown;

/**
 * `@octokit/core` with the plugins given: the app's and the CLI's forge client. It leaves out what
 * `getOctokit` adds, the REST method table (nothing here calls it) and `@actions/github`'s
 * `context`, read from the Actions environment when the module loads.
 */
export const coreOctokit: OctokitFactory = (token, options, ...plugins) => new (Octokit.plugin(...plugins))({ ...options, auth: token });

/**
 * An Octokit for the forge, with `@octokit/plugin-paginate-rest`, `@octokit/plugin-throttling`
 * (waits out primary and secondary rate limits) and `@octokit/plugin-retry` (retries 5xx and network
 * failures), built by `options.octokit`: the action's is `@actions/github`'s `getOctokit`, the app's and the CLI's `coreOctokit`.
 * It fetches with undici's `fetch` (`abortableFetch`), so the door's proxy dispatcher
 * (`src/http/proxy.ts`) applies, as it does to Probot's client. On Gitea/Forgejo the same client
 * talks to `/api/v1` with `token` auth (`Authorization: token <t>`, docs.gitea.com/development/api-usage).
 */
export function createForgeOctokit(options: ForgeClientOptions): ForgeOctokit {
  registerSecret(options.token);
  const rateLimited = (reason: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    if (retryCount >= RATE_LIMIT_RETRIES || retryAfter > LONGEST_RATE_LIMIT_WAIT_S) return false;
    options.onRetry?.({ call: `${request.method} ${request.url}`, reason, retryAfter, attempt: retryCount + 1 });
    return true;
  };
  // Gitea and Forgejo have no secondary rate limits (forge/throttle.ts): their writes are never spaced.
  const spacing = options.kind === 'gitea' ? UNSPACED_WRITES : options.writeSpacing;
  const octokitOptions: OctokitOptions = {
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    userAgent: 'agent-preview',
    // The whole `request` replaces getOctokit's default one (Octokit.defaults assigns options over
    // defaults, @octokit/core@7.0.8: dist-src/index.js), whose fetch @actions/github binds when it
    // loads to a dispatcher of its own (lib/internal/utils.js, getProxyFetch).
    request: { fetch: abortableFetch(options.lifetime) },
    throttle: {
      // One set of limiters per API: a Gitea's writes never queue behind GitHub's spacing.
      id: options.apiUrl,
      onRateLimit: rateLimited('rate limit'),
      onSecondaryRateLimit: rateLimited('secondary rate limit'),
      ...(spacing ? writeLimiterGroups(spacing) : {}),
      ...options.throttle,
    },
    retry: options.retry,
  };
  const factory = options.octokit ?? coreOctokit;
  return factory(options.token, octokitOptions, paginateRest, throttling, retry) as ForgeOctokit;
}

/**
 * undici's fetch, whose aborted calls Octokit does not retry.
 *
 * The undici we bundle, not Node's global `fetch`: forge and platform calls then go through one HTTP
 * stack and one dispatcher, and an action run no longer spends about 60 ms of CPU (of 620)
 * initialising Node 20's own copy of undici (6.x).
 *
 * @octokit/request rethrows a rejection named AbortError as it is, without the request (@octokit/request@10.0.16,
 * dist-src/fetch-wrapper.js), and @octokit/plugin-retry retries only errors that carry it
 * (@octokit/plugin-retry@8.1.1, dist-src/error-request.js `isRequestError`). A signal aborted with
 * a reason (a TimeoutError, say) rejects with that reason instead, which Octokit wraps as a 500 and
 * retries with the same, already aborted, signal: such calls went on retrying after their attempt
 * had given up, and after the app had stopped. So every aborted call ends as an AbortError. With
 * `lifetime`, every call also ends once it is aborted (the app aborts it when it stops).
 */
export function abortableFetch(lifetime?: AbortSignal): (url: string, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const own = init?.signal ?? undefined;
    const signal = lifetime && own ? AbortSignal.any([own, lifetime]) : (lifetime ?? own);
    try {
      return (await undiciFetch(url, { ...init, signal } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    } catch (err) {
      // An Error of this realm: @octokit/request tests `instanceof Error` before it looks at the name.
      if (signal?.aborted) throw Object.assign(new Error(signal.reason instanceof Error ? signal.reason.message : 'the call was aborted'), { name: 'AbortError' });
      throw err;
    }
  };
}

/** The forge adapter for a token: GitHub/GHES, or Gitea/Forgejo with their differences. */
export function createForge(options: ForgeClientOptions): GitHubForge {
  const octokit = createForgeOctokit(options);
  return forgeFor(options.kind, octokit, { botLogins: options.botLogins });
}

/** The adapter around an existing Octokit (Probot's `context.octokit` in the app). */
export function forgeFor(kind: ForgeKind, octokit: ForgeOctokit, options: { botLogins?: string[] } = {}): GitHubForge {
  return kind === 'gitea' ? new GiteaForge(octokit, options) : new GitHubForge(octokit, options);
}

export type { Forge };
