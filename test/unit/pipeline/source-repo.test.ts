import { formatSourceRepo, parseSourceRepo, sameSourceRepo, sourceRepoFromRemote, sourceRepoFromWebUrl, sourceRepoOfRun } from '../../../src/pipeline/source-repo.js';

describe('repositories, named one way everywhere', () => {
  it('reads the provenance the action sends (host without scheme, owner, name), lowercased', () => {
    expect(parseSourceRepo('github.com/Codertocat/Hello-World')).toEqual({ host: 'github.com', owner: 'codertocat', repo: 'hello-world' });
    expect(parseSourceRepo('gitea.example:3000/team/bots.git')).toEqual({ host: 'gitea.example:3000', owner: 'team', repo: 'bots' });
    expect(parseSourceRepo('https://ghe.example/acme/api/')).toEqual({ host: 'ghe.example', owner: 'acme', repo: 'api' });
    expect(parseSourceRepo('example.com/git/Acme/API')).toEqual({ host: 'example.com/git', owner: 'acme', repo: 'api' });
  });

  it('refuses what is not host/owner/repo', () => {
    for (const text of [undefined, '', 'github.com', 'github.com/acme', 'github.com//api']) expect(parseSourceRepo(text)).toBeUndefined();
  });

  it("takes a delivery's repository from its web address, keeping a sub-path", () => {
    expect(sourceRepoFromWebUrl('https://github.com/Codertocat/Hello-World')).toEqual({ host: 'github.com', owner: 'codertocat', repo: 'hello-world' });
    expect(sourceRepoFromWebUrl('http://127.0.0.1:3000/gitea-org/agents')).toEqual({ host: '127.0.0.1:3000', owner: 'gitea-org', repo: 'agents' });
    // A Gitea served under https://example.com/git/: the web address and the recorded name agree.
    const subPath = sourceRepoFromWebUrl('https://Example.com/git/Acme/Agents')!;
    expect(formatSourceRepo(subPath)).toBe('example.com/git/acme/agents');
    expect(sameSourceRepo(subPath, parseSourceRepo('example.com/git/acme/agents')!)).toBe(true);
    expect(sourceRepoFromWebUrl('not a url')).toBeUndefined();
  });

  it("names a run's repository from the payload's html_url, not the runner's server address", () => {
    // act_runner: GITHUB_SERVER_URL is where the runner registered; html_url comes from ROOT_URL.
    const repo = sourceRepoOfRun('https://git.example.com/Acme/Agents', 'http://gitea:3000', 'Acme', 'Agents');
    expect(formatSourceRepo(repo!)).toBe('git.example.com/acme/agents');
    expect(formatSourceRepo(sourceRepoOfRun(undefined, 'https://github.com', 'Acme', 'Agents')!)).toBe('github.com/acme/agents');
    // A payload about another repository is not this run's.
    expect(formatSourceRepo(sourceRepoOfRun('https://git.example.com/x/y', 'https://github.com', 'Acme', 'Agents')!)).toBe('github.com/acme/agents');
  });

  it("names a checkout's origin remote as the action names the repository from its event", () => {
    const named = (remote: string) => {
      const repo = sourceRepoFromRemote(remote);
      return repo && formatSourceRepo(repo);
    };
    // The action: html_url https://github.com/Acme/Agents.
    const action = formatSourceRepo(sourceRepoOfRun('https://github.com/Acme/Agents', 'https://github.com', 'Acme', 'Agents')!);
    for (const remote of [
      'https://github.com/Acme/Agents.git',
      'https://github.com/Acme/Agents',
      'https://x-access-token:ghs_secret@github.com/Acme/Agents.git',
      'git@github.com:Acme/Agents.git',
      'github.com:Acme/Agents',
      'ssh://git@github.com/Acme/Agents.git',
      'ssh://git@github.com:22/Acme/Agents.git',
      'git+ssh://git@github.com/Acme/Agents',
      'git://github.com/Acme/Agents.git',
    ]) {
      expect([remote, named(remote)]).toEqual([remote, action]);
    }
    // Gitea: the web port is part of the address, the SSH port is not; a sub-path is kept from http(s).
    expect(named('http://127.0.0.1:3000/gitea-org/agents.git')).toBe('127.0.0.1:3000/gitea-org/agents');
    expect(named('ssh://git@gitea.example:2222/team/bots.git')).toBe('gitea.example/team/bots');
    expect(named('https://example.com/git/Acme/Agents.git')).toBe('example.com/git/acme/agents');
    for (const remote of ['', '/srv/git/agents.git', './agents', 'file:///srv/git/acme/agents.git', 'C:/repos/agents', 'github.com', 'git@github.com:agents.git']) {
      expect([remote, named(remote)]).toEqual([remote, undefined]);
    }
  });

  it('compares case-insensitively, and never across hosts, owners or names', () => {
    const a = parseSourceRepo('github.com/Codertocat/Hello-World')!;
    expect(sameSourceRepo(a, parseSourceRepo('GitHub.com/codertocat/hello-world')!)).toBe(true);
    expect(sameSourceRepo(a, parseSourceRepo('github.com/octo-org/Hello-World')!)).toBe(false);
    expect(sameSourceRepo(a, parseSourceRepo('ghe.example/Codertocat/Hello-World')!)).toBe(false);
    expect(sameSourceRepo(a, parseSourceRepo('github.com/Codertocat/Hello-World2')!)).toBe(false);
    expect(formatSourceRepo(a)).toBe('github.com/codertocat/hello-world');
  });
});
