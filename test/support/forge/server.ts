import { createVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stateful test forge: the slice of the GitHub REST API (or GHES's `/api/v3`, or Gitea's `/api/v1`)
 * that the action and the app use, in memory, over real HTTP. Pagination, status codes and shapes
 * follow the real services; Gitea has no deployments API, so those routes answer 404 there.
 *
 * Who wrote a comment follows the token, as on the real forges: a workflow's `GITHUB_TOKEN` writes
 * as `github-actions[bot]` and cannot ask `GET /user` (403, "Resource not accessible by
 * integration": docs.github.com/en/rest/users/users#get-the-authenticated-user); an app's
 * installation token writes as `<slug>[bot]`; Gitea's job token as `gitea-actions`
 * (go-gitea/gitea@033d34b1e802e5c295d45e82465220ab5f14ba02:models/user/user_system.go); a personal
 * token (`users`) as its user.
 */
export type ForgeFlavor = 'github' | 'gitea';

type Json = Record<string, any>;

export interface TestComment {
  id: number;
  body: string;
  user: { login: string };
  created_at: string;
  updated_at: string;
  html_url: string;
}

export interface TestDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  transient_environment: boolean;
  production_environment: boolean;
  description: string | null;
  created_at: string;
  statuses: Json[];
}

interface PullRequest {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  title: string;
  headSha: string;
  headRef: string;
  baseRef: string;
  headRepoFullName?: string;
  user: string;
}

interface Repo {
  owner: string;
  name: string;
  defaultBranch: string;
  branches: Set<string>;
  pulls: Map<number, PullRequest>;
  comments: Map<number, TestComment[]>;
  /** Logins (lower-cased) with their permission on the repository; the owner is `admin` unless seeded. */
  collaborators: Map<string, string>;
  deployments: TestDeployment[];
  statuses: Map<string, Json[]>;
  files: Map<string, string>;
}

export interface TestReaction {
  id: number;
  content: string;
  user: { login: string };
  created_at: string;
}

export interface TestForge {
  flavor: ForgeFlavor;
  url: string;
  apiUrl: string;
  requests: { method: string; path: string; status: number }[];
  seedRepo(owner: string, repo: string, options?: { defaultBranch?: string; branches?: string[] }): void;
  /** A file of the default branch, served by the contents API. */
  seedFile(owner: string, repo: string, filePath: string, text: string): void;
  seedPullRequest(
    owner: string,
    repo: string,
    pr: {
      number: number;
      headSha: string;
      headRef: string;
      baseRef?: string;
      state?: 'open' | 'closed';
      merged?: boolean;
      headRepoFullName?: string;
      title?: string;
      user?: string;
    },
  ): void;
  setPullRequestHead(owner: string, repo: string, number: number, sha: string): void;
  closePullRequest(owner: string, repo: string, number: number, options?: { merged?: boolean }): void;
  deleteBranch(owner: string, repo: string, name: string): void;
  comments(owner: string, repo: string, number: number): TestComment[];
  deployments(owner: string, repo: string): TestDeployment[];
  commitStatuses(owner: string, repo: string, sha: string): Json[];
  failNext(pattern: RegExp, status: number, times?: number): void;
  /**
   * GitHub's rate-limit answers to the next matching request: `primary` is a 403 with
   * `x-ratelimit-remaining: 0` and `x-ratelimit-reset`; `secondary` a 403 with `retry-after` and
   * "secondary rate limit" in the message (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
   * "Exceeding the rate limit").
   */
  rateLimitNext(pattern: RegExp, kind: 'primary' | 'secondary', times?: number): void;
  /** Runs `action` just before the next matching request is served (a person acting meanwhile). */
  beforeNext(pattern: RegExp, action: () => void): void;
  /** A comment written by someone (a person, by default `octocat`). */
  seedComment(owner: string, repo: string, number: number, comment: { body: string; user?: string }): TestComment;
  /** Sets a PR's comments as they now are (someone deleted or edited some). */
  replaceComments(owner: string, repo: string, number: number, comments: TestComment[]): void;
  /** Gives a user a permission on the repository (`read`, `write`, `maintain`, `admin`; Gitea also `owner`). */
  seedCollaborator(owner: string, repo: string, login: string, permission: string): void;
  /** The reactions on a comment, oldest first. */
  reactions(commentId: number): TestReaction[];
  /** Everything the forge keeps that a client wrote, in every repository: comments, deployments and their statuses, commit statuses (for secret searches). */
  storedTexts(): string[];
  close(): Promise<void>;
}

const COMMENT_LIMIT = 65_536;
const DEPLOYMENT_STATES = new Set(['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success']);
const COMMIT_STATES = { github: new Set(['error', 'failure', 'pending', 'success']), gitea: new Set(['pending', 'success', 'error', 'failure', 'warning']) };

/**
 * A GitHub App installed on every seeded repository: JWTs signed with the app's key (RS256, `iss`
 * the app id) are exchanged for the installation token, which then works like `token`.
 */
export interface TestGithubApp {
  appId: number;
  /** The app's slug: its comments are written by `<slug>[bot]`. `agent-preview` unless given. */
  slug?: string;
  publicKey: KeyObject;
  installationId: number;
  installationToken: string;
  /** Further installations, each on its own repositories (`owner/name`); the one above has every other repository. */
  otherInstallations?: { id: number; token: string; repos: string[] }[];
}

export interface TestForgeOptions {
  flavor: ForgeFlavor;
  /** The job token: a workflow's `GITHUB_TOKEN`, or Gitea's job token. */
  token?: string;
  maxPerPage?: number;
  app?: TestGithubApp;
  /** GitHub Enterprise Server: the API under `/api/v3` (docs.github.com/en/enterprise-server@latest/rest/quickstart). */
  ghes?: boolean;
  /** Personal tokens and their users' logins. */
  users?: Record<string, string>;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
  /** A Gitea served under a sub-path (ROOT_URL https://example.com/git/): its pages and API live under it. */
  subPath?: string;
  /**
   * The forge's own idea of its address (Gitea's ROOT_URL), when it is not where it is reached: the
   * `html_url` of repositories and pull requests is built from it, as Gitea builds it from ROOT_URL
   * (go-gitea/gitea@0365aa63:services/convert/repository.go, `repo.HTMLURL()`). Defaults to `url`.
   */
  rootUrl?: string;
  /**
   * The reactions the forge accepts: GitHub's eight (docs.github.com/en/rest/reactions/reactions#about-reactions)
   * unless given; a Gitea admin can narrow them (`[ui] REACTIONS`, default the same eight:
   * go-gitea/gitea@00ca98d3:modules/setting/ui.go).
   */
  reactions?: string[];
}

const REACTIONS = ['+1', '-1', 'laugh', 'hooray', 'confused', 'heart', 'rocket', 'eyes'];

export async function startTestForge(options: TestForgeOptions): Promise<TestForge> {
  const { flavor } = options;
  const subPath = (options.subPath ?? '').replace(/\/+$/, '');
  const prefix = `${subPath}${flavor === 'gitea' ? '/api/v1' : options.ghes ? '/api/v3' : ''}`;
  const maxPerPage = options.maxPerPage ?? (flavor === 'github' ? 100 : 50);
  const jobLogin = flavor === 'github' ? 'github-actions[bot]' : 'gitea-actions';
  const loginOf = (auth: string): string | undefined => {
    const token = /^(?:token|bearer) (.+)$/i.exec(auth)?.[1];
    if (!token) return undefined;
    if (options.users?.[token]) return options.users[token];
    if (token === options.app?.installationToken || options.app?.otherInstallations?.some((installation) => installation.token === token))
      return `${options.app.slug ?? 'agent-preview'}[bot]`;
    return token === options.token ? jobLogin : undefined;
  };
  const limits: { pattern: RegExp; kind: 'primary' | 'secondary'; left: number }[] = [];
  const hooks: { pattern: RegExp; action: () => void }[] = [];
  const repos = new Map<string, Repo>();
  const requests: TestForge['requests'] = [];
  const failures: { pattern: RegExp; status: number; left: number }[] = [];
  const sockets = new Set<Socket>();
  const reactions = new Map<number, TestReaction[]>();
  let nextId = 1000;
  // Now, as on a real forge: `/preview` commands in comments older than a day are not acted on.
  let clock = Date.now();
  let baseUrl = '';
  const timestamp = () => new Date((clock += 1000)).toISOString();

  const repoOf = (owner: string, name: string) => {
    const repo = repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) throw new HttpError(404, 'Not Found');
    return repo;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://forge');
    const entry = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
    requests.push(entry);
    readBody(req)
      .then((raw) => route(req, url, raw))
      .then((reply) => respond(res, entry, reply))
      .catch((err) =>
        respond(res, entry, {
          status: err instanceof HttpError ? err.status : 500,
          body: { message: (err as Error).message, ...(err as HttpError).extra },
          headers: (err as HttpError).headers,
        }),
      );
  };
  const server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function route(req: IncomingMessage, url: URL, raw: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const line = `${method} ${url.pathname}`;
    const hook = hooks.findIndex((rule) => rule.pattern.test(line));
    if (hook !== -1) hooks.splice(hook, 1)[0].action();
    const failure = failures.find((rule) => rule.left > 0 && rule.pattern.test(line));
    if (failure) {
      failure.left--;
      throw new HttpError(failure.status, 'Injected failure');
    }
    const limit = flavor === 'github' ? limits.find((rule) => rule.left > 0 && rule.pattern.test(line)) : undefined;
    if (limit) {
      limit.left--;
      if (limit.kind === 'primary') {
        const reset = Math.ceil(Date.now() / 1000) + 1;
        throw new HttpError(
          403,
          'API rate limit exceeded for installation ID 1.',
          { documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting' },
          {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(reset),
            'x-ratelimit-resource': 'core',
          },
        );
      }
      throw new HttpError(
        403,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
        { documentation_url: 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits' },
        { 'retry-after': '1' },
      );
    }
    if (url.pathname === '/graphql' || url.pathname === `${prefix}/graphql`) throw new HttpError(404, 'GraphQL is not served here: use REST');
    const auth = req.headers.authorization ?? '';
    const apiPath = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    if (options.app && flavor === 'github') {
      const appRoute = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(apiPath);
      const installationRoute = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(apiPath);
      if (apiPath === '/app' && method === 'GET') {
        // docs.github.com/en/rest/apps/apps#get-the-authenticated-app (JWT only)
        verifyAppJwt(auth, options.app);
        return ok({ id: options.app.appId, slug: options.app.slug ?? 'agent-preview', name: options.app.slug ?? 'agent-preview' });
      }
      if (appRoute || installationRoute) {
        verifyAppJwt(auth, options.app);
        if (appRoute && method === 'POST') {
          const other = options.app.otherInstallations?.find((installation) => installation.id === Number(appRoute[1]));
          if (!other && Number(appRoute[1]) !== options.app.installationId) throw new HttpError(404, 'Not Found');
          const token = other?.token ?? options.app.installationToken;
          return {
            status: 201,
            body: {
              token,
              expires_at: new Date(Date.now() + 3_600_000).toISOString(),
              permissions: { pull_requests: 'write', deployments: 'write' },
              repository_selection: other ? 'selected' : 'all',
            },
          };
        }
        if (installationRoute && method === 'GET') {
          const repo = repoOf(decodeURIComponent(installationRoute[1]), decodeURIComponent(installationRoute[2]));
          const fullName = `${repo.owner}/${repo.name}`.toLowerCase();
          const other = options.app.otherInstallations?.find((installation) => installation.repos.some((name) => name.toLowerCase() === fullName));
          return ok({ id: other?.id ?? options.app.installationId, app_id: options.app.appId, account: { login: repo.owner } });
        }
        throw new HttpError(404, 'Not Found');
      }
    }
    const tokens = [
      options.token,
      options.app?.installationToken,
      ...(options.app?.otherInstallations ?? []).map((installation) => installation.token),
      ...Object.keys(options.users ?? {}),
    ].filter(Boolean);
    if (tokens.length && !tokens.some((token) => auth === `token ${token}` || auth === `Bearer ${token}`)) {
      throw new HttpError(401, flavor === 'github' ? 'Bad credentials' : 'token is required');
    }
    if (url.pathname === `${prefix}/user` && method === 'GET') {
      const login = loginOf(auth);
      const personal = login !== undefined && (flavor === 'gitea' || Object.values(options.users ?? {}).includes(login));
      if (!personal) throw new HttpError(403, 'Resource not accessible by integration');
      return ok({ id: 7, login, type: login.endsWith('[bot]') || login === 'gitea-actions' ? 'Bot' : 'User' });
    }
    if (!url.pathname.startsWith(`${prefix}/repos/`)) throw new HttpError(404, 'Not Found');
    if (method !== 'GET' && method !== 'DELETE' && !(req.headers['content-type'] ?? '').includes('application/json')) {
      throw new HttpError(415, 'Unsupported Media Type: send application/json');
    }
    const body = raw ? (JSON.parse(raw) as Json) : {};
    const parts = url.pathname
      .slice(prefix.length + '/repos/'.length)
      .split('/')
      .map(decodeURIComponent);
    const [owner, name, ...rest] = parts;
    const repo = repoOf(owner, name);
    const path = rest.join('/');
    const query = url.searchParams;
    let match: RegExpExecArray | null;

    if (path === '' && method === 'GET') return ok(repoJson(repo));
    if ((match = /^contents\/(.+)$/.exec(path)) && method === 'GET') {
      const text = repo.files.get(match[1]);
      if (text === undefined) throw new HttpError(404, 'Not Found');
      // `application/vnd.github.raw+json` asks for the file itself (docs.github.com/en/rest/repos/contents#get-repository-content).
      if (flavor === 'github' && /application\/vnd\.github(\.v3)?\.raw/.test(String(req.headers.accept ?? '')))
        return { status: 200, body: text, headers: { 'content-type': 'text/plain; charset=utf-8' } };
      return ok({ type: 'file', name: match[1].split('/').pop(), path: match[1], encoding: 'base64', content: Buffer.from(text).toString('base64').replace(/.{60}/g, '$&\n') });
    }
    // Gitea: `GET /repos/{owner}/{repo}/raw/{filepath}` answers the file itself (go-gitea/gitea@ae0c793:routers/api/v1/api.go, `m.Get("/raw/*", …, repo.GetRawFile)`).
    if ((match = /^raw\/(.+)$/.exec(path)) && method === 'GET' && flavor === 'gitea') {
      const text = repo.files.get(match[1]);
      if (text === undefined) throw new HttpError(404, 'Not Found');
      return { status: 200, body: text, headers: { 'content-type': 'text/plain; charset=utf-8' } };
    }
    if (path === 'branches' && method === 'GET') {
      return paginate(
        [...repo.branches].sort().map((name) => ({ name, commit: { sha: `sha-${name}`, id: `sha-${name}` } })),
        url,
      );
    }
    if ((match = /^branches\/(.+)$/.exec(path)) && method === 'GET') {
      if (!repo.branches.has(match[1])) throw new HttpError(404, 'Branch not found');
      return ok({ name: match[1], commit: { sha: `sha-${match[1]}`, id: `sha-${match[1]}` } });
    }
    if (path === 'pulls' && method === 'GET') {
      const state = query.get('state') ?? 'open';
      // GitHub filters by `head=user:ref-name` (docs.github.com/en/rest/pulls/pulls#list-pull-requests); Gitea's list has no such filter.
      const head = flavor === 'github' ? query.get('head') : null;
      const pulls = [...repo.pulls.values()]
        .filter((pr) => state === 'all' || pr.state === state)
        .filter((pr) => !head || `${(pr.headRepoFullName ?? `${repo.owner}/${repo.name}`).split('/')[0]}:${pr.headRef}`.toLowerCase() === head.toLowerCase())
        .map((pr) => pullJson(repo, pr));
      return paginate(pulls, url);
    }
    if ((match = /^pulls\/(\d+)$/.exec(path)) && method === 'GET') {
      const pr = repo.pulls.get(Number(match[1]));
      if (!pr) throw new HttpError(404, 'Not Found');
      return ok(pullJson(repo, pr));
    }
    if ((match = /^issues\/(\d+)\/comments$/.exec(path))) {
      const number = Number(match[1]);
      if (!repo.pulls.has(number)) throw new HttpError(404, 'Not Found');
      const list = repo.comments.get(number) ?? [];
      repo.comments.set(number, list);
      // Gitea lists every comment of an issue at once (only `since`/`before`), with X-Total-Count:
      // go-gitea/gitea@000d87efe1d99de1447631a94138995067480465:routers/api/v1/repo/issue_comment.go
      const shown = list.map((comment) => commentJson(repo, number, comment));
      if (method === 'GET') return flavor === 'gitea' ? { status: 200, body: shown, headers: { 'x-total-count': String(list.length) } } : paginate(shown, url);
      if (method === 'POST') {
        const text = checkCommentBody(body.body);
        const comment = addComment(owner, name, number, list, text, loginOf(auth) ?? 'ghost');
        return { status: 201, body: commentJson(repo, number, comment) };
      }
    }
    if ((match = /^issues\/comments\/(\d+)\/reactions$/.exec(path))) return reactionsRoute(repo, Number(match[1]), method, body, auth, url);
    if ((match = /^issues\/comments\/(\d+)$/.exec(path))) {
      const id = Number(match[1]);
      const number = numberOfComment(repo, id);
      const found = number === undefined ? undefined : repo.comments.get(number)!.find((comment) => comment.id === id);
      if (!found || number === undefined) throw new HttpError(404, 'Not Found');
      // docs.github.com/en/rest/issues/comments#get-an-issue-comment; Gitea: go-gitea/gitea@000d87ef:routers/api/v1/repo/issue_comment.go GetIssueComment.
      if (method === 'GET') return ok(commentJson(repo, number, found));
      if (method === 'PATCH') {
        found.body = checkCommentBody(body.body);
        found.updated_at = timestamp();
        return ok(commentJson(repo, number, found));
      }
      if (method === 'DELETE') {
        for (const list of repo.comments.values()) {
          const index = list.findIndex((comment) => comment.id === id);
          if (index !== -1) list.splice(index, 1);
        }
        return { status: 204, body: undefined };
      }
    }
    if ((match = /^collaborators\/([^/]+)\/permission$/.exec(path)) && method === 'GET') return permissionRoute(repo, match[1], auth);
    if (path.startsWith('deployments')) {
      if (flavor === 'gitea') throw new HttpError(404, 'Not Found');
      return deploymentsRoute(repo, path, method, body, url);
    }
    if ((match = /^statuses\/([^/]+)$/.exec(path)) && method === 'POST') {
      // GitHub: docs.github.com/en/rest/commits/statuses#create-a-commit-status (state required; a
      // description over 140 characters is a 422 with this error, as sclorg/testing-farm-as-github-action#187
      // quotes it). Gitea: go-gitea/gitea@020f7fd0af8f68125fa75a198be2466e81583749:routers/api/v1/repo/status.go
      // takes CreateStatusOption {state, target_url, description, context} and checks no length.
      if (!COMMIT_STATES[flavor].has(body.state)) throw new HttpError(422, 'Validation Failed', { errors: [{ field: 'state', code: 'invalid' }] });
      if (flavor === 'github' && typeof body.description === 'string' && body.description.length > 140) {
        throw new HttpError(422, 'Validation Failed', {
          errors: [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }],
        });
      }
      const status = {
        id: nextId++,
        state: body.state,
        target_url: body.target_url ?? null,
        description: body.description ?? null,
        context: body.context ?? 'default',
        created_at: timestamp(),
      };
      const list = repo.statuses.get(match[1]) ?? [];
      list.push(status);
      repo.statuses.set(match[1], list);
      return { status: 201, body: status };
    }
    if ((match = /^commits\/([^/]+)\/statuses$/.exec(path)) && method === 'GET') {
      return paginate([...(repo.statuses.get(match[1]) ?? [])].reverse(), url);
    }
    throw new HttpError(404, 'Not Found');
  }

  function numberOfComment(repo: Repo, id: number): number | undefined {
    for (const [number, list] of repo.comments) if (list.some((comment) => comment.id === id)) return number;
    return undefined;
  }

  function permissionOf(repo: Repo, login: string): string {
    const seeded = repo.collaborators.get(login.toLowerCase());
    if (seeded) return seeded;
    if (login.toLowerCase() === repo.owner.toLowerCase()) return 'admin';
    // The forge's own token user administers the repositories it is given (the app's Gitea token, a workflow's token).
    if (login === jobLogin || login.endsWith('[bot]')) return 'admin';
    // Every seeded repository is public: anyone may read it.
    return 'read';
  }

  /**
   * GitHub: `{permission, role_name, user}` with `permission` one of admin, write, read, none (maintain
   * shown as write, triage as read): docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user.
   * Gitea: `{permission, role_name, user}`, asked only by a site or repository admin or by the user about
   * themself, else 403 (go-gitea/gitea@000762f8:routers/api/v1/repo/collaborators.go GetRepoPermissions).
   */
  function permissionRoute(repo: Repo, login: string, auth: string): Reply {
    const permission = permissionOf(repo, login);
    if (flavor === 'gitea') {
      const caller = loginOf(auth) ?? '';
      const callerPermission = permissionOf(repo, caller);
      if (caller.toLowerCase() !== login.toLowerCase() && callerPermission !== 'admin' && callerPermission !== 'owner') {
        throw new HttpError(403, 'Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own');
      }
      return ok({ permission, role_name: permission, user: { id: 9, login, username: login } });
    }
    const legacy = permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
    return ok({ permission: legacy, role_name: permission, user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' } });
  }

  /**
   * GitHub: docs.github.com/en/rest/reactions/reactions (create: 201, or 200 when the user already
   * reacted so; an unknown content is a 422). Gitea: go-gitea/gitea@000762f8:routers/api/v1/repo/issue_reaction.go
   * (a reaction the instance does not allow is a 403; the list is one unpaginated array).
   */
  function reactionsRoute(repo: Repo, commentId: number, method: string, body: Json, auth: string, url: URL): Reply {
    if (numberOfComment(repo, commentId) === undefined) throw new HttpError(404, 'Not Found');
    const list = reactions.get(commentId) ?? [];
    reactions.set(commentId, list);
    const shown = (reaction: TestReaction) =>
      flavor === 'github'
        ? { ...reaction, user: { login: reaction.user.login, type: reaction.user.login.endsWith('[bot]') ? 'Bot' : 'User' } }
        : { user: reaction.user, content: reaction.content, created_at: reaction.created_at };
    if (method === 'GET') return flavor === 'gitea' ? ok(list.map(shown)) : paginate(list.map(shown), url);
    if (method !== 'POST') throw new HttpError(404, 'Not Found');
    const content = body.content;
    if (!(options.reactions ?? REACTIONS).includes(content)) {
      if (flavor === 'gitea') throw new HttpError(403, `'${content}' is not an allowed reaction`);
      throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'Reaction', code: 'invalid', field: 'content' }] });
    }
    const login = loginOf(auth) ?? 'ghost';
    const existing = list.find((reaction) => reaction.content === content && reaction.user.login === login);
    if (existing) return ok(shown(existing));
    const reaction: TestReaction = { id: nextId++, content, user: { login }, created_at: timestamp() };
    list.push(reaction);
    return { status: 201, body: shown(reaction) };
  }

  /** A comment as each forge shows it: GitHub with `issue_url`, `user.type` and `author_association`; Gitea with `pull_request_url`. */
  function commentJson(repo: Repo, number: number, comment: TestComment): Json {
    const login = comment.user.login;
    if (flavor === 'gitea') {
      const { user: _user, ...rest } = comment;
      return {
        ...rest,
        html_url: `${webUrl()}/${repo.owner}/${repo.name}/pulls/${number}#issuecomment-${comment.id}`,
        pull_request_url: `${webUrl()}/${repo.owner}/${repo.name}/pulls/${number}`,
        issue_url: '',
        user: { id: 9, login, username: login },
        original_author: '',
        original_author_id: 0,
      };
    }
    // A collaborator of any permission is COLLABORATOR (docs.github.com/en/graphql/reference/enums#commentauthorassociation): the permission call tells the rest.
    const association = login.toLowerCase() === repo.owner.toLowerCase() ? 'OWNER' : repo.collaborators.has(login.toLowerCase()) ? 'COLLABORATOR' : 'NONE';
    return {
      ...comment,
      issue_url: `${baseUrl.replace(/\/+$/, '')}${prefix.slice(subPath.length)}/repos/${repo.owner}/${repo.name}/issues/${number}`,
      user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
      author_association: association,
    };
  }

  function deploymentsRoute(repo: Repo, path: string, method: string, body: Json, url: URL): Reply {
    let match: RegExpExecArray | null;
    if (path === 'deployments' && method === 'POST') {
      if (!body.ref) throw new HttpError(422, 'Validation Failed', { errors: [{ field: 'ref', code: 'missing_field' }] });
      const deployment: TestDeployment = {
        id: nextId++,
        sha: body.ref,
        ref: body.ref,
        environment: body.environment ?? 'production',
        transient_environment: Boolean(body.transient_environment),
        production_environment: Boolean(body.production_environment),
        description: body.description ?? null,
        created_at: timestamp(),
        statuses: [],
      };
      repo.deployments.push(deployment);
      return { status: 201, body: deploymentJson(deployment) };
    }
    if (path === 'deployments' && method === 'GET') {
      const query = url.searchParams;
      const list = [...repo.deployments]
        .reverse()
        .filter(
          (d) =>
            (!query.get('sha') || d.sha === query.get('sha')) &&
            (!query.get('environment') || d.environment === query.get('environment')) &&
            (!query.get('ref') || d.ref === query.get('ref')),
        )
        .map(deploymentJson);
      return paginate(list, url);
    }
    const found = (id: string) => {
      const deployment = repo.deployments.find((d) => d.id === Number(id));
      if (!deployment) throw new HttpError(404, 'Not Found');
      return deployment;
    };
    if ((match = /^deployments\/(\d+)\/statuses$/.exec(path))) {
      const deployment = found(match[1]);
      if (method === 'GET') return paginate([...deployment.statuses].reverse(), url);
      if (method === 'POST') {
        if (!DEPLOYMENT_STATES.has(body.state)) throw new HttpError(422, 'Validation Failed', { errors: [{ field: 'state', code: 'invalid' }] });
        const status = {
          id: nextId++,
          state: body.state,
          environment_url: body.environment_url ?? '',
          log_url: body.log_url ?? '',
          description: body.description ?? '',
          created_at: timestamp(),
        };
        deployment.statuses.push(status);
        if (body.state === 'success' && body.auto_inactive !== false) {
          for (const other of repo.deployments) {
            if (other !== deployment && other.environment === deployment.environment && other.statuses.at(-1)?.state === 'success') {
              other.statuses.push({ id: nextId++, state: 'inactive', environment_url: '', log_url: '', description: 'superseded', created_at: timestamp() });
            }
          }
        }
        return { status: 201, body: status };
      }
    }
    if ((match = /^deployments\/(\d+)$/.exec(path))) {
      const deployment = found(match[1]);
      if (method === 'GET') return ok(deploymentJson(deployment));
      if (method === 'DELETE') {
        if (deployment.statuses.at(-1)?.state !== 'inactive')
          throw new HttpError(422, 'We cannot delete an active deployment unless it is the only deployment in a given environment.');
        repo.deployments.splice(repo.deployments.indexOf(deployment), 1);
        return { status: 204, body: undefined };
      }
    }
    throw new HttpError(404, 'Not Found');
  }

  function paginate(items: unknown[], url: URL): Reply {
    const sizeParam = flavor === 'github' ? 'per_page' : 'limit';
    const perPage = Math.min(maxPerPage, Number(url.searchParams.get(sizeParam)) || (flavor === 'github' ? 30 : maxPerPage));
    const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const headers: Record<string, string> = {};
    const link = (n: number, rel: string) => {
      const next = new URL(url.toString());
      next.searchParams.set(sizeParam, String(perPage));
      next.searchParams.set('page', String(n));
      return `<${new URL(baseUrl).origin}${next.pathname}${next.search}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length) headers.link = links.join(', ');
    if (flavor === 'gitea') headers['x-total-count'] = String(items.length);
    return { status: 200, body: items.slice((page - 1) * perPage, page * perPage), headers };
  }

  function addComment(owner: string, name: string, number: number, list: TestComment[], text: string, login: string): TestComment {
    const at = timestamp();
    const id = nextId++;
    const comment: TestComment = { id, body: text, user: { login }, created_at: at, updated_at: at, html_url: `${baseUrl}/${owner}/${name}/pull/${number}#issuecomment-${id}` };
    list.push(comment);
    return comment;
  }

  function checkCommentBody(text: unknown): string {
    if (typeof text !== 'string' || !text) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }] });
    if (flavor === 'github' && text.length > COMMENT_LIMIT) {
      throw new HttpError(422, 'Validation Failed', {
        errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }],
      });
    }
    return text;
  }

  /** Where pages are said to be: ROOT_URL when given, else where the forge listens. */
  const webUrl = () => (options.rootUrl ?? baseUrl).replace(/\/+$/, '');

  function repoJson(repo: Repo): Json {
    return {
      id: 1,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      default_branch: repo.defaultBranch,
      owner: { login: repo.owner },
      private: false,
      fork: false,
      html_url: `${webUrl()}/${repo.owner}/${repo.name}`,
    };
  }

  function pullJson(repo: Repo, pr: PullRequest): Json {
    const full = `${repo.owner}/${repo.name}`;
    const headRepo = pr.headRepoFullName ?? full;
    return {
      number: pr.number,
      state: pr.state,
      merged: pr.merged,
      title: pr.title,
      user: { login: pr.user },
      html_url: `${webUrl()}/${full}/pull/${pr.number}`,
      head: { sha: pr.headSha, ref: pr.headRef, repo: { full_name: headRepo, fork: headRepo !== full } },
      base: { ref: pr.baseRef, repo: { full_name: full } },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  baseUrl = `${origin}${subPath}`;

  return {
    flavor,
    url: baseUrl,
    apiUrl: `${origin}${prefix}`,
    requests,
    seedRepo(owner, name, seed = {}) {
      const defaultBranch = seed.defaultBranch ?? 'main';
      repos.set(`${owner}/${name}`.toLowerCase(), {
        owner,
        name,
        defaultBranch,
        branches: new Set([defaultBranch, ...(seed.branches ?? [])]),
        pulls: new Map(),
        comments: new Map(),
        collaborators: new Map(),
        deployments: [],
        statuses: new Map(),
        files: new Map(),
      });
    },
    seedFile(owner, name, filePath, text) {
      repoOf(owner, name).files.set(filePath.replace(/^\/+/, ''), text);
    },
    seedPullRequest(owner, name, pr) {
      const repo = repoOf(owner, name);
      repo.branches.add(pr.headRef);
      repo.pulls.set(pr.number, {
        number: pr.number,
        state: pr.state ?? 'open',
        merged: pr.merged ?? false,
        title: pr.title ?? `PR ${pr.number}`,
        headSha: pr.headSha,
        headRef: pr.headRef,
        baseRef: pr.baseRef ?? repo.defaultBranch,
        headRepoFullName: pr.headRepoFullName,
        user: pr.user ?? 'octocat',
      });
    },
    setPullRequestHead(owner, name, number, sha) {
      const pr = repoOf(owner, name).pulls.get(number);
      if (!pr) throw new Error(`no PR ${number}`);
      pr.headSha = sha;
    },
    closePullRequest(owner, name, number, close = {}) {
      const pr = repoOf(owner, name).pulls.get(number);
      if (!pr) throw new Error(`no PR ${number}`);
      pr.state = 'closed';
      pr.merged = Boolean(close.merged);
    },
    deleteBranch(owner, name, branch) {
      repoOf(owner, name).branches.delete(branch);
    },
    comments: (owner, name, number) => [...(repoOf(owner, name).comments.get(number) ?? [])],
    deployments: (owner, name) => repoOf(owner, name).deployments,
    commitStatuses: (owner, name, sha) => [...(repoOf(owner, name).statuses.get(sha) ?? [])],
    failNext(pattern, status, times = 1) {
      failures.push({ pattern, status, left: times });
    },
    rateLimitNext(pattern, kind, times = 1) {
      limits.push({ pattern, kind, left: times });
    },
    beforeNext(pattern, action) {
      hooks.push({ pattern, action });
    },
    seedComment(owner, name, number, comment) {
      const repo = repoOf(owner, name);
      const list = repo.comments.get(number) ?? [];
      repo.comments.set(number, list);
      return addComment(owner, name, number, list, comment.body, comment.user ?? 'octocat');
    },
    replaceComments(owner, name, number, comments) {
      repoOf(owner, name).comments.set(number, [...comments]);
    },
    seedCollaborator(owner, name, login, permission) {
      repoOf(owner, name).collaborators.set(login.toLowerCase(), permission);
    },
    reactions: (commentId) => [...(reactions.get(commentId) ?? [])],
    storedTexts: () =>
      [...repos.values()].flatMap((repo) => [
        ...[...repo.comments.values()].flat().map((comment) => comment.body),
        ...repo.deployments.map((deployment) => JSON.stringify(deployment)),
        ...[...repo.statuses.values()].map((statuses) => JSON.stringify(statuses)),
      ]),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Json = {},
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function deploymentJson(deployment: TestDeployment): Json {
  const { statuses: _statuses, ...rest } = deployment;
  return rest;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function respond(res: ServerResponse, entry: { status: number }, reply: Reply): void {
  entry.status = reply.status;
  if (reply.body === undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  if (typeof reply.body === 'string' && reply.headers?.['content-type']) {
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body);
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(text);
}

/** Checks a GitHub App JWT as GitHub does: RS256 over header.payload with the app's key, `iss` the app id, not expired. */
function verifyAppJwt(auth: string, app: TestGithubApp): void {
  const jwt = /^Bearer (.+)$/i.exec(auth)?.[1] ?? '';
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) throw new HttpError(401, 'A JSON web token could not be decoded');
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  if (!verifier.verify(app.publicKey, Buffer.from(signature, 'base64url'))) throw new HttpError(401, 'A JSON web token could not be decoded');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json;
  if (String(claims.iss) !== String(app.appId)) throw new HttpError(401, 'Integration not found');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now())
    throw new HttpError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
}
