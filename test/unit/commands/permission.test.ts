import { RefusalMemory } from '../../../src/commands/confirm.js';
import { commandJobOf } from '../../../src/commands/job.js';
import { isBotAuthor, mayAct } from '../../../src/commands/permission.js';

describe('who may act on previews', () => {
  it('on GitHub, needs a pushing association and a pushing permission, both', () => {
    expect(mayAct('github', { authorAssociation: 'OWNER', permission: 'admin' })).toEqual({ allowed: true });
    expect(mayAct('github', { authorAssociation: 'COLLABORATOR', permission: 'write' })).toEqual({ allowed: true });
    expect(mayAct('github', { authorAssociation: 'member', permission: 'maintain' })).toEqual({ allowed: true });
    // An organisation member without push access to this repository.
    expect(mayAct('github', { authorAssociation: 'MEMBER', permission: 'read' })).toMatchObject({ allowed: false, why: 'permission is read' });
    // A contributor whose permission the forge mistakenly reported high is still refused by the association.
    expect(mayAct('github', { authorAssociation: 'CONTRIBUTOR', permission: 'write' })).toMatchObject({ allowed: false });
    expect(mayAct('github', { authorAssociation: 'NONE', permission: 'none' })).toMatchObject({ allowed: false });
    expect(mayAct('github', { permission: 'admin' })).toMatchObject({ allowed: false, why: 'author_association is missing' });
  });

  it("on Gitea, reads the access mode's name", () => {
    for (const permission of ['write', 'admin', 'owner']) expect(mayAct('gitea', { permission })).toEqual({ allowed: true });
    for (const permission of ['read', 'none', '']) expect(mayAct('gitea', { permission }).allowed).toBe(false);
  });

  it('never acts for a bot, ours included', () => {
    expect(isBotAuthor({ login: 'dependabot[bot]' }, [])).toBe(true);
    expect(isBotAuthor({ login: 'renovate', type: 'Bot' }, [])).toBe(true);
    expect(isBotAuthor({ login: 'Agent-Preview-Bot' }, ['agent-preview-bot'])).toBe(true);
    expect(isBotAuthor({ login: 'gitea-actions' }, ['gitea-actions', 'forgejo-actions'])).toBe(true);
    expect(isBotAuthor({ login: 'octocat', type: 'User' }, ['agent-preview[bot]'])).toBe(false);
  });

  it('answers a refusal once per person and pull request in the window', () => {
    const memory = new RefusalMemory(1000);
    expect(memory.firstIn('pr-1:mallory', 0)).toBe(true);
    expect(memory.firstIn('pr-1:mallory', 500)).toBe(false);
    expect(memory.firstIn('pr-1:eve', 500)).toBe(true);
    expect(memory.firstIn('pr-1:mallory', 1500)).toBe(true);
  });
});

describe('what a delivery must carry to become a command', () => {
  const github = (change: (payload: Record<string, any>) => void = () => {}) => {
    const payload: Record<string, any> = {
      action: 'created',
      issue: { number: 7, pull_request: { url: 'https://api.github.com/repos/acme/agents/pulls/7' } },
      comment: { id: 55, body: '/preview destroy', user: { login: 'octocat', type: 'User' } },
      repository: { name: 'agents', owner: { login: 'acme' }, html_url: 'https://github.com/acme/agents' },
      installation: { id: 9 },
    };
    change(payload);
    return commandJobOf({ door: 'github', deliveryId: 'delivery-1', bodyDigest: 'digest', installationId: payload.installation?.id, payload });
  };

  it('takes a created comment on a pull request whose first line is a command', () => {
    expect(github()).toEqual({
      door: 'github',
      deliveryId: 'delivery-1',
      bodyDigest: 'digest',
      installationId: 9,
      number: 7,
      repository: { owner: 'acme', name: 'agents', htmlUrl: 'https://github.com/acme/agents' },
      comment: { id: 55, author: 'octocat', line: '/preview destroy' },
    });
  });

  it('ignores edits, issues, bots and comments without a command', () => {
    expect(github((p) => (p.action = 'edited'))).toEqual({ ignored: expect.stringContaining('edited') });
    expect(github((p) => delete p.issue.pull_request)).toEqual({ ignored: expect.stringContaining('issue') });
    expect(github((p) => (p.comment.user = { login: 'agent-preview[bot]', type: 'Bot' }))).toEqual({ ignored: expect.stringContaining('bot') });
    expect(github((p) => (p.comment.body = 'LGTM\n/preview destroy'))).toEqual({ ignored: expect.stringContaining('no /preview command') });
  });

  it("reads Gitea's issue_comment only with is_pull", () => {
    const payload = {
      action: 'created',
      is_pull: true,
      issue: { number: 3 },
      comment: { id: 8, body: '/preview help', user: { login: 'alice', username: 'alice' } },
      repository: { name: 'agents', owner: { username: 'acme' }, html_url: 'https://gitea.example/acme/agents' },
    };
    const gitea = (changed: Record<string, unknown>) => commandJobOf({ door: 'gitea', deliveryId: 'd', bodyDigest: 'b', payload: { ...payload, ...changed } });
    expect(gitea({})).toMatchObject({ door: 'gitea', number: 3, comment: { id: 8, author: 'alice', line: '/preview help' } });
    expect(gitea({ is_pull: false })).toEqual({ ignored: expect.stringContaining('issue') });
    expect(gitea({ action: 'edited' })).toEqual({ ignored: expect.stringContaining('edited') });
  });
});
