// The example PR comment the README shows, made by the code that writes the real one: the sticky
// comment's renderer (renderPreviewComment) with the conversations' section (smokeCommentSection), the
// label as the action computes it for PR 7 of github.com/acme/agents, the chat command the action
// names, examples/hello-agent/preview-smoke.yaml as the action reads it, the replies the local
// platform's agent gives for hello-agent's code (the demo's), and the verdicts checkReply gives them.
// Only the ids, the commit, the times and the latencies are chosen here.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { chatCommand } from '../../src/action/smoke.js';
import type { AgentResult } from '../../src/agent-result.js';
import { smokeCommentSection } from '../../src/conversation/comment.js';
import { checkReply } from '../../src/conversation/expect.js';
import type { AgentSmoke, ConversationOutcome } from '../../src/conversation/runner.js';
import { loadSmokeScript } from '../../src/conversation/script.js';
import { renderPreviewComment } from '../../src/forge/comment.js';
import { AgentCode, answerTurn, directivesInCode } from '../../src/local-platform/agent.js';
import { resolvePreviewLabel } from '../../src/pipeline/label.js';
import { parseSourceRepo } from '../../src/pipeline/source-repo.js';
import { renderUrlTemplate } from '../../src/pipeline/url.js';
import { createPlatform } from '../../src/platforms/index.js';
import { HELLO_AGENT } from './agents.js';

const REPO = parseSourceRepo('github.com/acme/agents')!;
const PR = 7;
const HEAD_SHA = '3f1c9a2b7d4e5f60718293a4b5c6d7e8f9012345';
const UPDATED_AT = '2026-12-07T09:41:00.000Z';
const AGENTEX_URL = 'https://agentex.example.com';
const PREVIEW_URL_TEMPLATE = 'https://previews.example.com/{agent}/{label}/';
const LATENCIES_MS = [640, 710];

/** The Markdown body the action would post for hello-agent's healthy preview whose conversations passed. */
export async function exampleCommentBody(): Promise<string> {
  const agent = 'hello-agent';
  const label = resolvePreviewLabel(undefined, { number: PR, sha: HEAD_SHA }, 'preview-label', undefined, REPO).label;
  const result: AgentResult = {
    agent,
    manifest: 'agents/hello-agent/manifest.yaml',
    status: 'healthy',
    buildId: 'bld_5e0c41d2a7b3',
    buildReused: false,
    deploymentId: 'dep_9b27f04c1e8a',
    previewLabel: label,
    url: renderUrlTemplate(PREVIEW_URL_TEMPLATE, { agent, label }),
  };
  const platform = createPlatform({ platform: 'agentex', apiKey: 'example', accountId: 'example', agentexUrl: AGENTEX_URL, env: {} });
  const chat = chatCommand({ platform, pr: { owner: 'acme', repo: 'agents', number: PR }, repo: REPO, chat: { agentexUrl: AGENTEX_URL } }, [result]);
  const smoke = smokeCommentSection([await helloAgentSmoke(result)], { chatCommand: chat });
  return renderPreviewComment([result], {
    platform: 'agentex',
    label,
    headSha: HEAD_SHA,
    updatedAt: UPDATED_AT,
    runUrl: 'https://github.com/acme/agents/actions/runs/9120455',
    smoke,
  });
}

/** hello-agent's preview-smoke.yaml held with a preview of hello-agent's code, as the local platform's agent answers it. */
async function helloAgentSmoke(result: AgentResult): Promise<AgentSmoke> {
  const script = await loadSmokeScript(path.join(HELLO_AGENT, 'preview-smoke.yaml'));
  const code = new AgentCode(directivesInCode(await readFile(path.join(HELLO_AGENT, 'project', 'acp.py'), 'utf8')));
  let latencyIndex = 0;
  const conversations: ConversationOutcome[] = script.conversations.map((conversation) => {
    let previous = '';
    const turns = conversation.turns.map((turn, index) => {
      const answer = answerTurn(code, { agentName: result.agent, message: turn.send, turn: index + 1, previous });
      if (answer.kind !== 'reply') throw new Error(`hello-agent's code no longer replies to "${turn.send}"`);
      previous = turn.send;
      const checks = checkReply(answer.text, turn.expect);
      const verdict = checks.every((check) => check.passed) ? ('passed' as const) : ('failed' as const);
      return { send: turn.send, reply: answer.text, latencyMs: LATENCIES_MS[latencyIndex++ % LATENCIES_MS.length], verdict, checks };
    });
    const verdict = turns.every((turn) => turn.verdict === 'passed') ? ('passed' as const) : ('failed' as const);
    return { name: conversation.name, sessionId: '1bcebe31-bb57-4c4c-b9bb-3080f421655b', verdict, turns };
  });
  const turns = conversations.flatMap((conversation) => conversation.turns);
  return {
    agent: result.agent,
    verdict: conversations.every((conversation) => conversation.verdict === 'passed') ? 'passed' : 'failed',
    deploymentId: result.deploymentId,
    script: { file: script.file, digest: script.digest },
    conversations,
    turns: { passed: turns.filter((turn) => turn.verdict === 'passed').length, total: turns.length },
    latencyMs: turns.reduce((sum, turn) => sum + (turn.latencyMs ?? 0), 0),
    measured: { sha: HEAD_SHA, at: UPDATED_AT },
  };
}

/**
 * The body as the README shows it: as a quotation (so it reads as a comment), without the lines that
 * are only hidden HTML comments (the sticky marker and the kept results, which render as nothing), and
 * with one empty line where removing them left two.
 */
export function quotedForReadme(body: string): string {
  return body
    .split('\n')
    .filter((line) => !/^<!--[\s\S]*-->$/.test(line))
    .map((line) => (line ? `> ${line}` : '>'))
    .join('\n')
    .replace(/^>\n(?:>\n)+/gm, '>\n');
}
