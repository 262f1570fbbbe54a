import { ApiError } from '../errors.js';
import { HttpClient, type RetryNotice } from '../http/client.js';
import { registerSecret } from '../secrets/redact.js';
import type { Forge, ForgeComment, ForgeKind, PreviewStatus, PullRef, PullRequestInfo, RepoRef } from './forge.js';

export interface RestForgeOptions {
  kind: ForgeKind;
  /** GitHub: https://api.github.com (or GHES /api/v3); Gitea: https://gitea.example/api/v1. */
  apiUrl: string;
  token: string;
  onRetry?: (notice: RetryNotice) => void;
}

type Json = Record<string, unknown>;
const MAX_PAGES = 100;

/** GitHub, GitHub Enterprise Server and Gitea/Forgejo over REST only (never GraphQL). */
export class RestForge implements Forge {
  readonly kind: ForgeKind;
  private readonly http: HttpClient;

  constructor(options: RestForgeOptions) {
    registerSecret(options.token);
    this.kind = options.kind;
    this.http = new HttpClient({
      baseUrl: options.apiUrl,
      headers: {
        authorization: `token ${options.token}`,
        accept: options.kind === 'github' ? 'application/vnd.github+json' : 'application/json',
        'user-agent': 'agent-preview',
        ...(options.kind === 'github' ? { 'x-github-api-version': '2022-11-28' } : {}),
      },
      retry: { retries: 4 },
      onRetry: options.onRetry,
    });
  }

  private repoPath(repo: RepoRef): string {
    return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`;
  }

  /** Follows `Link: rel="next"` over every page. */
  private async listAll(call: string, path: string, signal?: AbortSignal, filter: Record<string, string> = {}): Promise<Json[]> {
    const pageSize = this.kind === 'github' ? { per_page: 100 } : { limit: 50 };
    const items: Json[] = [];
    let page = 1;
    for (let count = 0; count < MAX_PAGES; count++) {
      const response = await this.http.request<Json[]>({ call, method: 'GET', path, query: { ...filter, ...pageSize, page }, signal });
      const batch = Array.isArray(response.body) ? response.body : [];
      items.push(...batch);
      const next = nextPage(response.headers.link);
      if (next === undefined || batch.length === 0) break;
      page = next;
    }
    return items;
  }

  async listComments(pr: PullRef, signal?: AbortSignal): Promise<ForgeComment[]> {
    const raw = await this.listAll('list PR comments', `${this.repoPath(pr)}/issues/${pr.number}/comments`, signal);
    return raw.map(toComment);
  }

  async createComment(pr: PullRef, body: string, signal?: AbortSignal): Promise<ForgeComment> {
    const response = await this.http.request<Json>({
      call: 'create PR comment',
      method: 'POST',
      path: `${this.repoPath(pr)}/issues/${pr.number}/comments`,
      json: { body },
      signal,
    });
    return toComment(response.body);
  }

  async updateComment(repo: RepoRef, id: number, body: string, signal?: AbortSignal): Promise<void> {
    await this.http.request({ call: 'update PR comment', method: 'PATCH', path: `${this.repoPath(repo)}/issues/comments/${id}`, json: { body }, signal });
  }

  async deleteComment(repo: RepoRef, id: number, signal?: AbortSignal): Promise<void> {
    await this.http.request({ call: 'delete PR comment', method: 'DELETE', path: `${this.repoPath(repo)}/issues/comments/${id}`, accept: [404], signal });
  }

  async getPullRequest(pr: PullRef, signal?: AbortSignal): Promise<PullRequestInfo> {
    const { body } = await this.http.request<Json>({ call: 'get pull request', method: 'GET', path: `${this.repoPath(pr)}/pulls/${pr.number}`, signal });
    const head = (body.head ?? {}) as Json;
    const base = (body.base ?? {}) as Json;
    return {
      number: Number(body.number ?? pr.number),
      state: body.state === 'closed' ? 'closed' : 'open',
      merged: Boolean(body.merged),
      headSha: String(head.sha ?? ''),
      headRef: String(head.ref ?? ''),
      headRepo: fullName(head.repo),
      baseRepo: fullName(base.repo),
    };
  }

  async setPreviewStatus(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<void> {
    const description = status.description.slice(0, 139);
    if (this.kind === 'gitea') {
      await this.http.request({
        call: 'set commit status',
        method: 'POST',
        path: `${this.repoPath(repo)}/statuses/${status.sha}`,
        json: {
          state: status.state === 'in_progress' ? 'pending' : status.state === 'inactive' ? 'success' : status.state,
          target_url: status.url ?? status.logUrl ?? '',
          description,
          context: status.environment,
        },
        signal,
      });
      return;
    }
    const deployment = await this.findOrCreateDeployment(repo, status, signal);
    await this.http.request({
      call: 'set deployment status',
      method: 'POST',
      path: `${this.repoPath(repo)}/deployments/${deployment}/statuses`,
      json: {
        state: status.state,
        environment_url: status.url,
        log_url: status.logUrl,
        description,
        auto_inactive: status.state === 'success',
      },
      signal,
    });
  }

  private async findOrCreateDeployment(repo: RepoRef, status: PreviewStatus, signal?: AbortSignal): Promise<number> {
    const existing = await this.http.request<Json[]>({
      call: 'list deployments',
      method: 'GET',
      path: `${this.repoPath(repo)}/deployments`,
      query: { sha: status.sha, environment: status.environment, per_page: 10 },
      signal,
    });
    const found = (existing.body ?? []).find((deployment) => deployment.sha === status.sha && deployment.environment === status.environment);
    if (found) return Number(found.id);
    const created = await this.http.request<Json>({
      call: 'create deployment',
      method: 'POST',
      path: `${this.repoPath(repo)}/deployments`,
      json: {
        ref: status.sha,
        environment: status.environment,
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: [],
        description: 'agent-preview',
      },
      signal,
    });
    if (created.status !== 201 || created.body.id === undefined) {
      throw new ApiError('POST deployments (create deployment)', created.status, String(created.body.message ?? 'no deployment created'));
    }
    return Number(created.body.id);
  }

  async deactivateEnvironment(repo: RepoRef, environment: string, signal?: AbortSignal): Promise<void> {
    if (this.kind === 'gitea') return;
    const deployments = await this.listAll('list deployments', `${this.repoPath(repo)}/deployments`, signal, { environment });
    for (const deployment of deployments) {
      if (deployment.environment !== environment) continue;
      await this.http.request({
        call: 'set deployment status',
        method: 'POST',
        path: `${this.repoPath(repo)}/deployments/${deployment.id}/statuses`,
        json: { state: 'inactive', description: 'preview removed' },
        signal,
      });
    }
  }

  /** A file of the default branch (the contents API, the same on GitHub and Gitea); undefined when it is not there. */
  async readFile(repo: RepoRef, filePath: string, signal?: AbortSignal): Promise<string | undefined> {
    const encoded = filePath.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
    const response = await this.http.request<Json>({ call: `read ${filePath}`, method: 'GET', path: `${this.repoPath(repo)}/contents/${encoded}`, accept: [404], signal });
    if (response.status === 404 || !response.body || Array.isArray(response.body)) return undefined;
    const content = response.body.content;
    if (typeof content !== 'string') return undefined;
    return response.body.encoding === 'base64' ? Buffer.from(content, 'base64').toString('utf8') : content;
  }

  async listBranches(repo: RepoRef, signal?: AbortSignal): Promise<string[]> {
    const raw = await this.listAll('list branches', `${this.repoPath(repo)}/branches`, signal);
    return raw.map((branch) => branch.name).filter((name): name is string => typeof name === 'string');
  }

  async branchExists(repo: RepoRef, branch: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.http.request({
      call: 'get branch',
      method: 'GET',
      path: `${this.repoPath(repo)}/branches/${encodeURIComponent(branch)}`,
      accept: [404],
      signal,
    });
    return response.status !== 404;
  }
}

function toComment(raw: Json): ForgeComment {
  return {
    id: Number(raw.id),
    body: String(raw.body ?? ''),
    createdAt: typeof raw.created_at === 'string' ? raw.created_at : undefined,
    user: typeof (raw.user as Json | undefined)?.login === 'string' ? String((raw.user as Json).login) : undefined,
  };
}

function fullName(repo: unknown): string | undefined {
  const name = (repo as Json | undefined)?.full_name;
  return typeof name === 'string' ? name : undefined;
}

/** The `page` of the `rel="next"` link, if any. */
export function nextPage(link: string | string[] | undefined): number | undefined {
  const header = Array.isArray(link) ? link.join(',') : link;
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (!match) continue;
    const page = new URL(match[1], 'http://x').searchParams.get('page');
    return page ? Number(page) : undefined;
  }
  return undefined;
}
