import type { BuildRecord, DeploymentRecord } from './state.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
  h1 { font-size: 1.5rem; } dt { font-weight: 600; } dd { margin: 0 0 .5rem; font-family: ui-monospace, monospace; }
  .badge { display: inline-block; padding: .1rem .5rem; border-radius: 1rem; background: #dafbe1; color: #116329; font-size: .85rem; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** The page a deployment serves: 200 while healthy, 503 while starting, 404 once gone or unknown. */
export function renderPreviewPage(deployment: DeploymentRecord | undefined, build: BuildRecord | undefined): { status: number; html: string } {
  if (!deployment || ['DELETED', 'SUPERSEDED', 'CANCELLED'].includes(deployment.status)) {
    return { status: 404, html: shell('Preview not found', '<h1>Preview not found</h1><p>This preview was removed or never existed.</p>') };
  }
  const agent = escapeHtml(deployment.agent_name);
  if (deployment.status === 'PENDING' || deployment.status === 'IN_PROGRESS') {
    return { status: 503, html: shell(`${deployment.agent_name} is starting`, `<h1>${agent} is starting…</h1><p>Status: ${escapeHtml(deployment.status)}</p>`) };
  }
  if (deployment.status === 'FAILED') {
    return { status: 502, html: shell(`${deployment.agent_name} failed`, `<h1>${agent} failed to start</h1>`) };
  }
  const rows: [string, string | undefined][] = [
    ['Agent', deployment.agent_name],
    ['Preview label', deployment.preview_label ?? '(not a preview)'],
    ['Build', deployment.build_id],
    ['Image', build?.image_url ?? `${deployment.image_name}:${deployment.image_tag}`],
    ['Source commit', build?.source_commit],
    ['Deployment', deployment.id],
    ['Expires', deployment.expires_at],
  ];
  const list = rows
    .filter((row): row is [string, string] => Boolean(row[1]))
    .map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('\n');
  return {
    status: 200,
    html: shell(
      `${deployment.agent_name} preview`,
      `<h1>${agent} <span class="badge">healthy</span></h1>\n<dl>\n${list}\n</dl>\n<p>Served by the agent-preview local platform.</p>`,
    ),
  };
}
