import { findStickyComments } from './comment.js';
import type { Forge, PullRef } from './forge.js';

export interface StickyResult {
  commentId?: number;
  action: 'created' | 'updated' | 'skipped-newer-head';
  /** Duplicates (from racing runs) that were removed. */
  removedDuplicates: number[];
}

/**
 * Writes the PR's one sticky comment: updates the oldest marker comment in place, or creates one.
 * Two runs racing to create both re-list afterwards, keep the oldest and delete the rest. When the
 * PR head has moved past `headSha`, a newer run owns the comment and nothing is written.
 */
export async function upsertStickyComment(
  forge: Forge,
  pr: PullRef,
  body: string,
  options: { headSha?: string; signal?: AbortSignal } = {},
): Promise<StickyResult> {
  const { signal } = options;
  if (options.headSha && (await headMoved(forge, pr, options.headSha, signal))) {
    return { action: 'skipped-newer-head', removedDuplicates: [] };
  }
  const existing = findStickyComments(await forge.listComments(pr, signal));
  let action: StickyResult['action'];
  let ours: number;
  if (existing.length > 0) {
    ours = existing[0].id;
    await forge.updateComment(pr, ours, body, signal);
    action = 'updated';
  } else {
    ours = (await forge.createComment(pr, body, signal)).id;
    action = 'created';
  }
  const after = findStickyComments(await forge.listComments(pr, signal));
  const keep = after[0]?.id ?? ours;
  const removedDuplicates: number[] = [];
  for (const duplicate of after.slice(1)) {
    await forge.deleteComment(pr, duplicate.id, signal);
    removedDuplicates.push(duplicate.id);
  }
  if (keep !== ours) {
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
