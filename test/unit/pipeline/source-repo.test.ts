import { formatSourceRepo, parseSourceRepo, sameSourceRepo, sourceRepoFromWebUrl } from '../../../src/pipeline/source-repo.js';

describe('source repositories as builds record them', () => {
  it('reads the provenance the action sends (server URL without scheme, owner, name)', () => {
    const serverUrl = 'https://github.com';
    const recorded = `${serverUrl.replace(/^https?:\/\//, '')}/Codertocat/Hello-World`;
    expect(parseSourceRepo(recorded)).toEqual({ host: 'github.com', owner: 'Codertocat', repo: 'Hello-World' });
    expect(parseSourceRepo('gitea.example:3000/team/bots.git')).toEqual({ host: 'gitea.example:3000', owner: 'team', repo: 'bots' });
    expect(parseSourceRepo('https://ghe.example/acme/api/')).toEqual({ host: 'ghe.example', owner: 'acme', repo: 'api' });
  });

  it('refuses what is not host/owner/repo', () => {
    for (const text of [undefined, '', 'github.com', 'github.com/acme', 'github.com//api']) expect(parseSourceRepo(text)).toBeUndefined();
  });

  it("takes a delivery's repository from its web address", () => {
    expect(sourceRepoFromWebUrl('https://github.com/Codertocat/Hello-World')).toEqual({ host: 'github.com', owner: 'Codertocat', repo: 'Hello-World' });
    expect(sourceRepoFromWebUrl('http://127.0.0.1:3000/gitea-org/agents')).toEqual({ host: '127.0.0.1:3000', owner: 'gitea-org', repo: 'agents' });
    expect(sourceRepoFromWebUrl('not a url')).toBeUndefined();
  });

  it('compares case-insensitively, and never across hosts, owners or names', () => {
    const a = parseSourceRepo('github.com/Codertocat/Hello-World')!;
    expect(sameSourceRepo(a, parseSourceRepo('GitHub.com/codertocat/hello-world')!)).toBe(true);
    expect(sameSourceRepo(a, parseSourceRepo('github.com/octo-org/Hello-World')!)).toBe(false);
    expect(sameSourceRepo(a, parseSourceRepo('ghe.example/Codertocat/Hello-World')!)).toBe(false);
    expect(sameSourceRepo(a, parseSourceRepo('github.com/Codertocat/Hello-World2')!)).toBe(false);
    expect(formatSourceRepo(a)).toBe('github.com/Codertocat/Hello-World');
  });
});
