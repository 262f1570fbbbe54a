type Json = Record<string, any>;

/** A repository of one of GitHub's example payloads, renamed to `owner/name` at `htmlUrl` (the rest of it as GitHub sent it). */
export function repositoryAs(repository: Json, owner: string, name: string, htmlUrl: string): Json {
  return { ...repository, name, full_name: `${owner}/${name}`, html_url: htmlUrl, owner: { ...repository.owner, login: owner } };
}
