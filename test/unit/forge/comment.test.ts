import { COMMENT_LIMIT, escapeCell, fence, findStickyComments, renderPreviewComment, renderRemovedComment, STICKY_MARKER } from '../../../src/forge/comment.js';
import { nextPage } from '../../../src/forge/rest.js';
import type { AgentResult } from '../../../src/pipeline/run.js';

const context = { platform: 'agentex', label: 'pr-4', headSha: 'abcdef1234567890', updatedAt: '2026-11-23T10:00:00.000Z' };

const healthy: AgentResult = {
  agent: 'hello-agent',
  manifest: '/x/manifest.yaml',
  status: 'healthy',
  buildId: 'bld_1',
  buildReused: true,
  deploymentId: 'dep_1',
  url: 'https://previews.example/hello/',
};

describe('sticky comment', () => {
  it('renders one row per agent with status, link, build and commit', () => {
    const body = renderPreviewComment([healthy, { ...healthy, agent: 'other', status: 'failed', buildReused: false, url: undefined, error: 'other: deploy failed: boom', failedPhase: 'deploy', logTail: ['line 1', 'line 2'] }], context);
    expect(body.startsWith(STICKY_MARKER)).toBe(true);
    expect(body).toContain('| **hello-agent** | ✅ Ready | [Visit preview](https://previews.example/hello/) | `bld\\_1` (reused) | `abcdef1` | 2026-11-23 10:00:00 |');
    expect(body).toContain('| **other** | ❌ Failed | — |');
    expect(body).toMatch(/<details><summary>other: deploy failed<\/summary>\n\n```text\nother: deploy failed: boom\n\nline 1\nline 2\n```/);
  });

  it('cannot be broken by Markdown or HTML in names and logs', () => {
    const hostile = '<img src=x onerror=alert(1)> | [click](http://evil) **bold**';
    expect(escapeCell(hostile)).not.toMatch(/<img|\]\(http/);
    expect(escapeCell(hostile)).not.toContain('|');
    const tail = 'before\n```\n</details><script>x</script>\n````';
    const block = fence(tail);
    expect(block.startsWith('`````text\n')).toBe(true);
    expect(block.endsWith('\n`````')).toBe(true);
  });

  it('keeps a hostile preview URL inside its link', () => {
    const body = renderPreviewComment([{ ...healthy, url: 'https://x.example/a)<img src=x onerror=alert(1)>[y](z)' }], context);
    expect(body).toContain('[Visit preview](https://x.example/a%29%3Cimg%20src=x%20onerror=alert%281%29%3E%5By%5D%28z%29)');
    expect(body).not.toContain('<img');
    expect(renderPreviewComment([{ ...healthy, url: 'javascript:alert(1)' }], context)).not.toContain('javascript:');
  });

  it('never links a URL that carries a credential', () => {
    const body = renderPreviewComment([{ ...healthy, url: 'https://svc.example/?edge_token=SECRET' }], context);
    expect(body).not.toContain('SECRET');
    expect(body).not.toContain('Visit preview');
  });

  it('stays under the 65,536-character limit with huge log tails', () => {
    const logTail = Array.from({ length: 5000 }, (_, i) => `error line ${i} ${'x'.repeat(80)}`);
    const results = Array.from({ length: 30 }, (_, i) => ({ ...healthy, agent: `agent-${i}`, status: 'failed' as const, error: 'boom', logTail }));
    const body = renderPreviewComment(results, context);
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body).toContain('agent-29');
  });

  it('finds marker comments oldest first', () => {
    const comments = [
      { id: 9, body: `${STICKY_MARKER}\nnew` },
      { id: 3, body: 'unrelated' },
      { id: 5, body: `${STICKY_MARKER}\nold` },
    ];
    expect(findStickyComments(comments).map((c) => c.id)).toEqual([5, 9]);
    expect(renderRemovedComment({ label: 'pr-4', platform: 'local', updatedAt: context.updatedAt, agents: ['a'] })).toContain('Preview removed');
  });

  it('follows Link rel="next" pages', () => {
    expect(nextPage('<https://api.github.com/repos/o/r/issues/1/comments?per_page=100&page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last"')).toBe(3);
    expect(nextPage('<https://g.example/api/v1/x?limit=50&page=9>; rel="last"')).toBeUndefined();
    expect(nextPage(undefined)).toBeUndefined();
  });
});
