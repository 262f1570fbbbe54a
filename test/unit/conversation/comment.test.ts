import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';
import { keptSmokeMarker, readKeptSmoke, smokeCommentSection, summaryLine, transcriptText } from '../../../src/conversation/comment.js';
import type { AgentSmoke } from '../../../src/conversation/runner.js';
import { COMMENT_LIMIT, renderPreviewComment } from '../../../src/forge/comment.js';
import type { AgentResult } from '../../../src/pipeline/run.js';

const context = { platform: 'local', label: 'pr-4', headSha: 'abcdef1234567890', updatedAt: '2026-11-23T10:00:00.000Z' };
const healthy: AgentResult = { agent: 'hello-agent', manifest: '/x/manifest.yaml', status: 'healthy', deploymentId: 'dep_1', url: 'https://previews.example/hello/' };

/** A reply written to escape every way it could: workflow commands, fences, HTML, mentions, links, controls. */
const HOSTILE = [
  '::error::pwned',
  '::set-output name=smoke::passed',
  '##[add-mask]x',
  '````',
  '```',
  '</details><img src=x onerror=alert(1)><script>alert(2)</script>',
  '@octocat @acme/security please look',
  '[click](https://evil.example) <!-- hidden -->',
  '\u001b]52;c;aGk=\u0007 \u202eevil\u202c',
  '~~~',
].join('\n');

function smoke(overrides: Partial<AgentSmoke> = {}): AgentSmoke {
  return {
    agent: 'hello-agent',
    verdict: 'passed',
    deploymentId: 'dep_1',
    script: { file: '/x/preview-smoke.yaml', digest: 'd'.repeat(64) },
    conversations: [
      {
        name: 'greets',
        sessionId: 'task-1',
        verdict: 'passed',
        turns: [
          {
            send: 'Hello',
            reply: 'Hello, Hello! This reply comes from hello-agent.',
            latencyMs: 412,
            verdict: 'passed',
            checks: [{ expectation: 'contains "Hello"', passed: true }],
          },
          { send: 'And again', reply: 'Hello again', latencyMs: 988, verdict: 'passed', checks: [{ expectation: 'a non-empty reply', passed: true }] },
        ],
      },
    ],
    turns: { passed: 2, total: 2 },
    latencyMs: 1400,
    measured: { sha: 'abcdef1234567890', at: '2026-11-23T10:00:00.000Z' },
    ...overrides,
  };
}

function html(markdown: string): string {
  return micromark(markdown, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] });
}

/** The rendered page with every code block and code span taken out: what is left is live markup. */
function outsideCode(rendered: string): string {
  return rendered.replace(/<pre><code[^>]*>[\s\S]*?<\/code><\/pre>/g, '').replace(/<code>[\s\S]*?<\/code>/g, '');
}

describe('the conversations in the PR comment', () => {
  it('shows each agent as ✅ 3/3 · 1.4 s, the transcript collapsed, and the chat command', () => {
    const body = renderPreviewComment([healthy], {
      ...context,
      smoke: smokeCommentSection([smoke()], { chatCommand: 'npx agent-preview --platform local chat --pr 4 --repo github.com/o/r' }),
    });
    expect(body).toContain('#### Conversations with the preview · ✅ passed');
    expect(body).toContain('- **hello-agent** ✅ 2/2 · 1.4 s');
    expect(body).toContain('<details><summary>hello-agent: transcript</summary>');
    expect(body).toContain('› Hello\n‹ Hello, Hello! This reply comes from hello-agent.\n  (0.4 s)\n  ✔ contains "Hello"');
    expect(body).toContain('💬 Talk to this preview yourself: `npx agent-preview --platform local chat --pr 4 --repo github.com/o/r`');
    expect(html(body)).toMatch(/<details><summary>hello-agent: transcript<\/summary>\n<pre><code class="language-text">── greets \(task-1\) ──/);
  });

  it('names the expectation that failed, and why nothing was asked where nothing could be', () => {
    const failed = smoke({ verdict: 'failed', turns: { passed: 1, total: 2 } });
    failed.conversations[0].verdict = 'failed';
    failed.conversations[0].turns[1] = {
      ...failed.conversations[0].turns[1],
      verdict: 'failed',
      checks: [{ expectation: 'contains "Bye"', passed: false, detail: 'the reply does not contain "Bye"' }],
    };
    expect(summaryLine(failed)).toBe(String.raw`**hello-agent** ❌ 1/2 · 1.4 s · greets, turn 2: expected contains "Bye" \(the reply does not contain "Bye"\)`);
    const timedOut = smoke({ verdict: 'failed' });
    timedOut.conversations[0] = {
      ...timedOut.conversations[0],
      verdict: 'failed',
      turns: [{ send: 'Hello', latencyMs: 60_000, verdict: 'failed', checks: [], error: "no reply within 1m (the turn's timeout)" }],
    };
    expect(summaryLine(timedOut)).toContain(String.raw`greets, turn 1: no reply within 1m \(the turn's timeout\)`);
    const unsupported = smoke({ verdict: 'unsupported', reason: 'MUTX previews cannot be talked to: <no API>', conversations: [] });
    expect(summaryLine(unsupported)).toBe('**hello-agent** 🚫 not tested: MUTX previews cannot be talked to: &lt;no API&gt;');
    expect(summaryLine(smoke({ kept: true }))).toBe('**hello-agent** ✅ 2/2 · 1.4 s (kept from `abcdef1`: the preview is unchanged)');
  });

  it('renders a hostile reply, message and expectation as inert text: no HTML, no link, no mention, no control character', () => {
    const result = smoke({ verdict: 'failed' });
    result.conversations[0].turns = [
      {
        send: HOSTILE,
        reply: HOSTILE,
        latencyMs: 5,
        verdict: 'failed',
        checks: [{ expectation: `contains ${JSON.stringify(HOSTILE)}`, passed: false, detail: `the reply does not contain ${JSON.stringify(HOSTILE)}` }],
      },
    ];
    result.conversations[0].verdict = 'failed';
    const body = renderPreviewComment([healthy], { ...context, smoke: smokeCommentSection([result], {}) });
    const rendered = html(body);
    const live = outsideCode(rendered);
    expect(live).not.toMatch(/<img|<script|<!-- hidden/);
    expect([...live.matchAll(/<a href="([^"]*)"/g)].map((match) => match[1])).toEqual(['https://previews.example/hello/']);
    // Mentions are found in the Markdown text outside code blocks (Gitea) or in the rendered text outside code (GitHub).
    expect(body.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '')).not.toMatch(/@[0-9A-Za-z]/);
    expect(live).not.toMatch(/@[0-9A-Za-z]/);
    // The summary line is escaped text, the transcript one code block that nothing in it closed.
    expect(rendered.match(/<pre><code/g)).toHaveLength(1);
    expect(rendered).toContain('&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt;');
    // eslint-disable-next-line no-control-regex -- the control characters are what must be gone
    expect(body).not.toMatch(/[\u001b\u0007\u202e]/);
    // After the transcript, the comment's own markup is still markup.
    expect(rendered).toMatch(/<\/code><\/pre>\n<\/details>/);
  });

  it('keeps the comment under the limit, saying less about transcripts first', async () => {
    const huge = 'x'.repeat(30_000);
    const results = Array.from({ length: 8 }, (_, index) => {
      const result = smoke({ agent: `agent-${index}` });
      result.conversations[0].turns = Array.from({ length: 20 }, () => ({ send: huge, reply: huge, latencyMs: 1, verdict: 'passed' as const, checks: [] }));
      return result;
    });
    const body = renderPreviewComment([healthy], { ...context, smoke: smokeCommentSection(results, {}) });
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    for (const result of results) expect(body).toContain(`**${result.agent}** ✅`);
    // The results are still recorded for the next run, if only as counts.
    expect((await readKeptSmoke(body)).map((kept) => kept.agent)).toEqual(results.map((result) => result.agent));
  });

  it('cuts a long reply in the transcript and says where', () => {
    const result = smoke();
    result.conversations[0].turns[0].reply = `${'a'.repeat(5000)}END`;
    const text = transcriptText(result, 4000);
    expect(text).toContain(`${'a'.repeat(4000)}\n  …[cut: 1003 more characters]`);
    expect(text).not.toContain('END');
  });

  it('records the results in the comment so that a later run can show them, and reads back only that shape', async () => {
    const recorded = smoke();
    const marker = keptSmokeMarker([recorded], 1000);
    expect(marker).toMatch(/^<!-- agent-preview:smoke:v1:[A-Za-z0-9_-]+ -->$/);
    expect(await readKeptSmoke(`text\n${marker}\nmore`)).toEqual([recorded]);
    // A reply that looks like the end of an HTML comment stays inside the record.
    const sneaky = smoke();
    sneaky.conversations[0].turns[0].reply = '--> <img src=x>';
    expect((await readKeptSmoke(keptSmokeMarker([sneaky], 1000)))[0].conversations[0].turns[0].reply).toBe('--> <img src=x>');
    const forged = Buffer.from(JSON.stringify([{ agent: 'x', verdict: 'passed' }])).toString('base64url');
    expect(await readKeptSmoke(`<!-- agent-preview:smoke:v1:${forged} -->`)).toEqual([]);
    expect(await readKeptSmoke('<!-- agent-preview:smoke:v1:not-base64-json -->')).toEqual([]);
    expect(await readKeptSmoke(undefined)).toEqual([]);
  });

  it('without results shows only the chat command', () => {
    const body = renderPreviewComment([healthy], { ...context, smoke: smokeCommentSection([], { chatCommand: 'npx agent-preview chat --pr 4' }) });
    expect(body).not.toContain('Conversations with the preview');
    expect(body).toContain('`npx agent-preview chat --pr 4`');
  });
});
