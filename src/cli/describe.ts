import type { AgentResult } from '../pipeline/run.js';
import type { TeardownOutcome } from '../previews/teardown.js';
import type { Deployment } from '../platforms/platform.js';

/**
 * One line per agent of a build or deploy, and on failure the platform's log tail, unless it is a
 * build log already streamed above (`buildLogShown`).
 */
export function describeResult(result: AgentResult, buildLogShown = false): string {
  const build = result.buildId ? `build ${result.buildId}${result.buildReused ? ' (reused: context unchanged)' : ''}` : 'no build';
  switch (result.status) {
    case 'healthy':
      return `✔ ${result.agent}: ${result.previewLabel ? `preview ${result.previewLabel}` : 'deployment'} ${result.deploymentId} is healthy${result.url ? ` at ${result.url}` : ''}; ${build}`;
    case 'unchanged':
      return `✔ ${result.agent}: preview ${result.previewLabel} ${result.deploymentId} is unchanged and kept${result.url ? ` at ${result.url}` : ''}; ${build}`;
    case 'deployed':
      return `✔ ${result.agent}: deployment ${result.deploymentId} created (not waited on); ${build}`;
    case 'built':
      return `✔ ${result.agent}: ${build}`;
    default:
      return `✘ ${result.agent}: ${withoutAgentPrefix(result)}${failureTail(result, buildLogShown)}`;
  }
}

/** The pipeline's errors start with the agent's name, which the line already shows. */
function withoutAgentPrefix(result: AgentResult): string {
  const error = result.error ?? 'failed';
  return error.startsWith(`${result.agent}: `) ? error.slice(result.agent.length + 2) : error;
}

function failureTail(result: AgentResult, buildLogShown: boolean): string {
  if (!result.logTail?.length) return '';
  if (result.failedPhase === 'build' && buildLogShown) return ' (build log above)';
  return `\n${result.logTail.map((line) => `    ${line}`).join('\n')}`;
}

export function teardownSummary(outcome: TeardownOutcome) {
  const ids = (list: Deployment[]) => list.map((deployment) => ({ id: deployment.id, agent: deployment.agentName }));
  return {
    label: outcome.label,
    deleted: ids(outcome.deleted),
    alreadyGone: ids(outcome.alreadyGone),
    wouldDelete: ids(outcome.wouldDelete),
    withoutProvenance: ids(outcome.withoutProvenance),
    otherRepos: ids(outcome.otherRepos),
    status: 'status' in outcome ? outcome.status : undefined,
    stillRunning: 'stillRunning' in outcome ? outcome.stillRunning : undefined,
    failed: outcome.failed.map((entry) => ({ id: entry.deployment.id, agent: entry.deployment.agentName, error: entry.error })),
  };
}

export function describeTeardown(outcome: TeardownOutcome, dryRun?: boolean): string {
  if (dryRun) return `dry run: ${outcome.wouldDelete.length} preview(s) of "${outcome.label}" would be deleted; nothing was deleted`;
  const parts = [`${outcome.deleted.length} deleted`, `${outcome.alreadyGone.length} already gone`];
  if (outcome.failed.length) parts.push(`${outcome.failed.length} failed`);
  if (outcome.otherRepos.length) parts.push(`${outcome.otherRepos.length} of other repositories left alone (${outcome.otherRepos.map((d) => d.id).join(', ')})`);
  if (outcome.withoutProvenance.length) parts.push(`${outcome.withoutProvenance.length} recording no repository left alone`);
  return `previews of "${outcome.label}": ${parts.join(', ')}`;
}

export function formatDeploymentTable(deployments: Deployment[]): string {
  const rows = [
    ['ID', 'AGENT', 'STATUS', 'LABEL', 'EXPIRES', 'URL'],
    ...deployments.map((deployment) => [
      deployment.id,
      deployment.agentName ?? '',
      deployment.rawStatus,
      deployment.previewLabel ?? '',
      deployment.expiresAt ?? '',
      deployment.url ?? '',
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
