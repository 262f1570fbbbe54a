/**
 * What the `/preview` command tests share: an agent whose local-platform answer shows the
 * conversation's turn and previous message, previews of it deployed as the action deploys them
 * (a build recording the repository and commit, the PR's label), and comment deliveries of each
 * forge's own shape.
 */
import path from 'node:path';
import { loadManifest, packContext } from '../../src/context/index.js';
import { agentCodeDirective } from '../../src/local-platform/index.js';
import type { AgentexPlatform } from '../../src/platforms/agentex/agentex.js';
import type { Deployment } from '../../src/platforms/platform.js';
import { readFile } from 'node:fs/promises';
import { copyHelloAgent, editFile } from './agents.js';
import { repositoryAs } from './payload-repository.js';
import { until } from './wait.js';

type Json = Record<string, any>;

/** The local agent's answer, with the turn of the conversation and the message before this one. */
export const TURN_REPLY = 'turn {turn}: {message} (previous: {previous})';

/** A copy of hello-agent whose local-platform reply is `TURN_REPLY`. */
export async function conversingAgent(): Promise<string> {
  const dir = await copyHelloAgent();
  await editFile(path.join(dir, 'project', 'acp.py'), (text) => text.replace(/^# local-platform: reply .*$/m, agentCodeDirective('reply', TURN_REPLY)));
  return dir;
}

/** A healthy preview of the agent in `dir`, labelled `label`, whose build records `sourceRepo` at `commit` (as the action's builds do). */
export async function deployPreview(platform: AgentexPlatform, dir: string, options: { sourceRepo: string; commit: string; label: string; ttlMs?: number }): Promise<Deployment> {
  const manifest = await loadManifest(path.join(dir, 'manifest.yaml'));
  const packed = await packContext(manifest);
  let buildId: string;
  try {
    const build = await platform.createBuild({
      agentName: manifest.agent.name,
      archivePath: packed.archivePath,
      archiveBytes: packed.archiveBytes,
      treeHash: packed.treeHash,
      imageName: manifest.image.name,
      imageTag: packed.treeHash.slice(0, 12),
      provenance: { repo: options.sourceRepo, commit: options.commit, ref: 'refs/heads/feature' },
    });
    buildId = (
      await until(
        () => platform.getBuild(build.id),
        (current) => current.phase === 'succeeded',
      )
    ).id;
  } finally {
    await packed.dispose();
  }
  const created = await platform.createDeployment({
    agentName: manifest.agent.name,
    manifestText: manifest.text,
    environmentText: await readFile(path.join(dir, 'environments.yaml'), 'utf8'),
    buildId,
    preview: { label: options.label, expiresAt: new Date(Date.now() + (options.ttlMs ?? 3_600_000)) },
    sourceRepo: options.sourceRepo,
  });
  return until(
    () => platform.getDeployment(created.id),
    (deployment) => deployment.phase === 'healthy',
  );
}

export interface CommentDelivery {
  owner: string;
  repo: string;
  htmlUrl: string;
  number: number;
  comment: { id: number; body: string; user: string };
  action?: 'created' | 'edited';
}

/** GitHub's `issue_comment` delivery of a pull request comment, from its own example (`example` is `githubExample('issue_comment', 'created')`). */
export function githubCommentPayload(example: Json, delivery: CommentDelivery, installationId?: number): Json {
  const payload = structuredClone(example);
  payload.action = delivery.action ?? 'created';
  payload.repository = repositoryAs(payload.repository, delivery.owner, delivery.repo, delivery.htmlUrl);
  // A pull request is an issue with `pull_request` (docs.github.com/en/rest/issues/issues#get-an-issue).
  Object.assign(payload.issue, {
    number: delivery.number,
    pull_request: {
      url: `https://api.github.com/repos/${delivery.owner}/${delivery.repo}/pulls/${delivery.number}`,
      html_url: `${delivery.htmlUrl}/pull/${delivery.number}`,
      merged_at: null,
    },
  });
  const user = { ...payload.comment.user, login: delivery.comment.user, type: delivery.comment.user.endsWith('[bot]') ? 'Bot' : 'User' };
  Object.assign(payload.comment, { id: delivery.comment.id, body: delivery.comment.body, user, author_association: 'COLLABORATOR' });
  if (delivery.action === 'edited') payload.changes = { body: { from: '/preview help' } };
  if (installationId !== undefined) payload.installation = { id: installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  else delete payload.installation;
  return payload;
}

/** Gitea's `issue_comment` delivery on a pull request: IssueCommentPayload (go-gitea/gitea@040cb8b6:modules/structs/hook.go) with `is_pull`. */
export function giteaCommentPayload(delivery: CommentDelivery): Json {
  const user = (login: string) => ({ id: 9, login, login_name: '', full_name: '', email: `${login}@noreply.gitea.local`, username: login });
  const repository = {
    id: 7,
    owner: user(delivery.owner),
    name: delivery.repo,
    full_name: `${delivery.owner}/${delivery.repo}`,
    private: false,
    fork: false,
    html_url: delivery.htmlUrl,
    default_branch: 'main',
  };
  return {
    action: delivery.action ?? 'created',
    issue: {
      id: 41,
      url: `${delivery.htmlUrl}/issues/${delivery.number}`,
      html_url: `${delivery.htmlUrl}/pulls/${delivery.number}`,
      number: delivery.number,
      user: user(delivery.owner),
      title: 'Greet in French',
      body: '',
      state: 'open',
      pull_request: { merged: false, merged_at: null, draft: false, html_url: `${delivery.htmlUrl}/pulls/${delivery.number}` },
    },
    comment: {
      id: delivery.comment.id,
      html_url: `${delivery.htmlUrl}/pulls/${delivery.number}#issuecomment-${delivery.comment.id}`,
      pull_request_url: `${delivery.htmlUrl}/pulls/${delivery.number}`,
      issue_url: '',
      user: user(delivery.comment.user),
      original_author: '',
      original_author_id: 0,
      body: delivery.comment.body,
      created_at: '2026-11-23T09:30:00Z',
      updated_at: '2026-11-23T09:30:00Z',
    },
    ...(delivery.action === 'edited' ? { changes: { body: { from: '/preview help' } } } : {}),
    repository,
    sender: user(delivery.comment.user),
    is_pull: true,
  };
}
