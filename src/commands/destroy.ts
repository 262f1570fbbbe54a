/**
 * `/preview destroy`: the pull request's previews removed now, exactly as a close removes them
 * (`previews/close.ts`: only previews whose records name this repository; one that records no
 * repository is kept and named), and the forge told as on close: the sticky comment says "Preview
 * removed" (or names what still runs), GitHub's deployments are marked inactive, Gitea's commit
 * status says the preview is gone. The pull request stays open: its next push deploys again.
 */
import { codeSpan, escapeCell } from '../forge/comment.js';
import { markClosed, removePreviews, type CloseOutcome } from '../previews/close.js';
import { agentNamesOfConfig } from '../previews/repo-config.js';
import { redact } from '../secrets/redact.js';
import type { CommandResult, CommandRun } from './context.js';
import { plain } from './reply.js';

export async function destroyCommand(run: CommandRun): Promise<CommandResult> {
  const { access, platform, labels, signal, log } = run;
  const agentNames = await agentNamesOfConfig(run.config, access.readFile, signal, (path) =>
    log.warn({ manifest: path }, `manifest ${path} names no agent or could not be read; previews of every agent of this repository are removed`),
  );
  const outcome = await removePreviews({ platform, labels, repo: access.repo, agentNames, knownAgents: agentNames, signal });
  log.info(
    { deleted: outcome.deleted.map((d) => d.id), alreadyGone: outcome.alreadyGone.map((d) => d.id), otherRepos: outcome.otherRepos.map((d) => d.id), status: outcome.status },
    `/preview destroy on #${run.job.number}: ${outcome.deleted.length} deleted, status ${outcome.status}`,
  );
  const marks = {
    forge: run.forge,
    repoRef: access.repoRef,
    pullNumber: run.job.number,
    headSha: run.pull.headSha,
    platformName: platform.name,
    signal,
    occasion: '`/preview destroy` ran',
  };
  const told = await markClosed(marks, labels, outcome).then(
    () => undefined,
    (err: Error) => redact(err.message),
  );
  return { ok: outcome.status !== 'failed', body: destroyBody(outcome, told) };
}

function destroyBody(outcome: CloseOutcome, forgeError: string | undefined): string {
  const ids = (items: { id: string }[]) => items.map((item) => codeSpan(item.id)).join(', ');
  const lines: string[] = [];
  if (outcome.status === 'removed') {
    lines.push(
      outcome.deleted.length
        ? `🧹 Removed ${outcome.deleted.length} preview${outcome.deleted.length === 1 ? '' : 's'} of this pull request: ${ids(outcome.deleted)}${outcome.agents.length ? ` (${outcome.agents.map(escapeCell).join(', ')})` : ''}.`
        : '🧹 Nothing of this pull request was running: there was no preview to remove.',
    );
  } else {
    lines.push(outcome.deleted.length ? `Removed ${ids(outcome.deleted)}, but not everything:` : 'Nothing was removed:');
    for (const item of outcome.stillRunning) lines.push(`- ⚠️ ${codeSpan(item.id)} (${escapeCell(item.agent ?? 'agent')}) still runs: ${plain(item.why)}`);
  }
  if (outcome.otherRepos.length) lines.push('', `${outcome.otherRepos.length} preview(s) under this label record another repository and were left alone.`);
  if (forgeError) lines.push('', `The sticky comment and deployment statuses could not be updated: ${plain(forgeError)}`);
  lines.push('', 'The next push to this pull request deploys its previews again.');
  return lines.join('\n');
}
