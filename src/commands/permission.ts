/**
 * Who may act on a pull request's previews: people who may push to the repository. Pure rules over
 * what the forge answered; the calls that fetch those answers are the forge adapter's
 * (`Forge.getComment`, `Forge.userPermission`).
 *
 * - GitHub: the comment's `author_association` must be `OWNER`, `MEMBER` or `COLLABORATOR`
 *   (docs.github.com/en/graphql/reference/enums#commentauthorassociation), and the installation
 *   confirms with `GET /repos/{owner}/{repo}/collaborators/{username}/permission`, whose
 *   `permission` is `admin`, `write`, `read` or `none`, the `maintain` role reported as `write` and
 *   `triage` as `read` (docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
 *   Both must hold: an organisation member (`MEMBER`) may have no push access to this repository.
 * - Gitea and Forgejo: `GET /repos/{owner}/{repo}/collaborators/{collaborator}/permission` answers
 *   `permission` as the access mode's name, `none`, `read`, `write`, `admin` or `owner`
 *   (go-gitea/gitea@000762f8:routers/api/v1/repo/collaborators.go GetRepoPermissions, via
 *   services/convert ToUserAndPermission and go-gitea/gitea@40ae0952:models/perm/access_mode.go).
 *   Only a site admin, an admin of the repository, or the user asking about themself may call it:
 *   GITEA_TOKEN's user must be an admin of the repository.
 */

/** GitHub's associations of people who may have push access (the permission call confirms it). */
export const PUSHING_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

/** Permission names, on either forge, that include pushing. */
const PUSHING_PERMISSIONS = new Set(['write', 'maintain', 'admin', 'owner']);

export type ForgeKindForPermission = 'github' | 'gitea';

export interface PermissionFacts {
  /** GitHub only: the comment's `author_association`, as the forge answers it. */
  authorAssociation?: string;
  /** The forge's answer to the permission call. */
  permission: string;
}

/** Whether the facts show push access on this forge; `why` says what was missing, for the log. */
export function mayAct(kind: ForgeKindForPermission, facts: PermissionFacts): { allowed: boolean; why?: string } {
  const permission = facts.permission.toLowerCase();
  if (kind === 'github') {
    const association = (facts.authorAssociation ?? '').toUpperCase();
    if (!PUSHING_ASSOCIATIONS.includes(association)) return { allowed: false, why: `author_association is ${association || 'missing'}` };
  }
  if (!PUSHING_PERMISSIONS.has(permission)) return { allowed: false, why: `permission is ${permission || 'missing'}` };
  return { allowed: true };
}

/** GitHub's association, checked before any call: anyone else is refused without asking the forge again. */
export function associationMayPush(association: string | undefined): boolean {
  return PUSHING_ASSOCIATIONS.includes((association ?? '').toUpperCase());
}

/**
 * Whether a comment's author is a bot, whose commands are never acted on (ours included, so that no
 * reply of ours, which quotes a command, can ever trigger another): GitHub marks bot accounts with
 * `user.type` `Bot` and a `[bot]` login; on either forge, the identities our own writes appear as
 * (`Forge.commentAuthors`: the app's `[bot]` login, the token's user, the Actions job tokens).
 */
export function isBotAuthor(author: { login: string; type?: string }, ourLogins: string[]): boolean {
  const login = author.login.toLowerCase();
  if (author.type?.toLowerCase() === 'bot' || login.endsWith('[bot]')) return true;
  return ourLogins.some((ours) => ours.toLowerCase() === login);
}
