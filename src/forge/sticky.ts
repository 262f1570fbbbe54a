import { findStickyComments, type StickyMatch } from './comment.js';
import type { Forge, ForgeComment, PullRef } from './forge.js';

export interface StickyResult {
  commentId?: number;
  action: 'created' | 'updated' | 'skipped-newer-head';
  /** Duplicates (from racing runs) that were removed. */
  removedDuplicates: number[];
}

/**
 * Writes the PR's one sticky comment (per key): updates the oldest of our marker comments in place,
 * or creates one. Only comments written by the identities that write ours count
 * (`Forge.commentAuthors`); anyone else's comment, even one quoting the marker, is never edited or
 * deleted. A comment deleted between the listing and the update is replaced by a new one. Two runs
 * racing to create both re-list afterwards, keep the oldest and delete the rest. When the PR head
 * has moved past `headSha`, a newer run owns the comment and nothing is written.
 */
export async function upsertStickyComment(forge: Forge, pr: PullRef, body: string, options: { headSha?: string; key?: string; signal?: AbortSignal } = {}): Promise<StickyResult> {
  const { signal } = options;
  if (options.headSha && (await headMoved(forge, pr, options.headSha, signal))) {
    return { action: 'skipped-newer-head', removedDuplicates: [] };
  }
  const match: StickyMatch = { authors: await forge.commentAuthors(signal), key: options.key };
  const ours = async () => findStickyComments<ForgeComment>(await forge.listComments(pr, signal), match);
  const existing = await ours();
  let action: StickyResult['action'] = 'updated';
  let written: number | undefined = existing[0]?.id;
  if (written === undefined || !(await forge.updateComment(pr, written, body, signal))) {
    written = (await forge.createComment(pr, body, signal)).id;
    action = 'created';
  }
  const after = await ours();
  const keep = after[0]?.id ?? written;
  const removedDuplicates: number[] = [];
  for (const duplicate of after.slice(1)) {
    await forge.deleteComment(pr, duplicate.id, signal);
    removedDuplicates.push(duplicate.id);
  }
  if (keep !== written) {
    // Another run created the oldest comment first; ours was the duplicate. Carry our content over
    // unless a newer head has arrived meanwhile.
    if (!options.headSha || !(await headMoved(forge, pr, options.headSha, signal))) await forge.updateComment(pr, keep, body, signal);
  }
  return { commentId: keep, action, removedDuplicates };
}

async function headMoved(forge: Forge, pr: PullRef, headSha: string, signal?: AbortSignal): Promise<boolean> {
  const current = await forge.getPullRequest(pr, signal);
  return Boolean(current.headSha) && current.headSha !== headSha;
}
