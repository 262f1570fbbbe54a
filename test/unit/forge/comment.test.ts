import {
  codeSpan,
  COMMENT_LIMIT,
  escapeCell,
  fence,
  findStickyComments,
  isOurStickyComment,
  renderPreviewComment,
  renderRemovedComment,
  STICKY_MARKER,
  stickyMarker,
} from '../../../src/forge/comment.js';
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
    const body = renderPreviewComment(
      [
        healthy,
        {
          ...healthy,
          agent: 'other',
          status: 'failed',
          buildReused: false,
          url: undefined,
          error: 'other: deploy failed: boom',
          failedPhase: 'deploy',
          logTail: ['line 1', 'line 2'],
        },
      ],
      context,
    );
    expect(body.startsWith(STICKY_MARKER)).toBe(true);
    expect(body).toContain('| **hello-agent** | ✅ Ready | [Visit preview](https://previews.example/hello/) | `bld_1` (reused) | `abcdef1` | 2026-11-23 10:00:00 |');
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

  it('matches only comments that our identities wrote, with the key asked for', () => {
    const authors = ['github-actions[bot]', 'agent-preview[bot]'];
    const comments = [
      { id: 2, body: `As the bot says: ${STICKY_MARKER}`, user: 'octocat' },
      { id: 4, body: `${STICKY_MARKER}\nours`, user: 'GitHub-Actions[bot]' },
      { id: 6, body: `${stickyMarker('docs')}\ndocs workflow`, user: 'github-actions[bot]' },
      { id: 7, body: `${STICKY_MARKER}\nno author known` },
      { id: 8, body: `${STICKY_MARKER}\napp`, user: 'agent-preview[bot]' },
    ];
    expect(findStickyComments(comments, { authors }).map((c) => c.id)).toEqual([4, 8]);
    expect(findStickyComments(comments, { authors, key: 'docs' }).map((c) => c.id)).toEqual([6]);
    expect(isOurStickyComment(comments[0], { authors })).toBe(false);
    expect(isOurStickyComment(comments[0], { authors: ['octocat'] })).toBe(true);
    // A keyed marker is not the plain one, nor another key's.
    expect(isOurStickyComment(comments[2], { authors })).toBe(false);
    expect(isOurStickyComment(comments[2], { authors, key: 'doc' })).toBe(false);
    expect(() => stickyMarker('a -->')).toThrow(/letters, digits/);
  });

  it('writes ids as code spans without Markdown escapes, fenced past any backtick run', () => {
    const body = renderPreviewComment([{ ...healthy, buildId: 'bld_a*b_c' }], { ...context, label: 'pr_4' });
    expect(body).toContain('`bld_a*b_c` (reused)');
    expect(body).toContain('### Agent preview · `pr_4`');
    expect(body).not.toContain('\\_');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`x')).toBe('`` `x ``');
    expect(codeSpan('a|b')).toBe('`a\\|b`');
    expect(renderRemovedComment({ label: 'pr_4', platform: 'local', updatedAt: context.updatedAt, agents: [], commentKey: 'docs' }).startsWith(stickyMarker('docs'))).toBe(true);
  });
});
