import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { AGENT_DIRECTIVES, agentCodeDirective } from '../../src/local-platform/index.js';
import { NO_AGENTEX_SERVER } from '../../src/platforms/agentex/config.js';
import { HELLO_AGENT } from '../support/agents.js';
import type { ForgeFlavor } from '../support/forge/server.js';
import { usePreviewEnv } from '../support/preview-env.js';
import type { ActionRun } from '../support/runner.js';

/**
 * The committed action bundle, run as a runner runs it, holding the conversations of
 * examples/hello-agent's preview-smoke.yaml with its preview on the local platform, whose agent
 * answers as docs/local-platform.md says (directives in the agent's code make it wrong, slow, failing
 * or never ready).
 */
const API_KEY = 'sk-smoke-e2e-Hq41ZmP0wX7c';
const TOKEN = 'ghs_smokeE2eToken0123456789abcdEF';
const OWNER = 'Codertocat';
const REPO = 'Hello-World';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

type Json = Record<string, any>;

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A workspace with hello-agent at agents/hello, its code given these directive lines, its smoke file this text (or none). */
async function workspaceWith(options: { code?: string[]; smoke?: string | null; acpType?: string } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-smoke-ws-'));
  dirs.push(dir);
  const agent = path.join(dir, 'agents', 'hello');
  await cp(HELLO_AGENT, agent, { recursive: true });
  if (options.code?.length) {
    const acp = path.join(agent, 'project', 'acp.py');
    // Directives first: the first line of each name wins over the example's own reply line.
    await writeFile(acp, `${options.code.join('\n')}\n${await readFile(acp, 'utf8')}`);
  }
  if (options.smoke === null) await rm(path.join(agent, 'preview-smoke.yaml'));
  else if (options.smoke !== undefined) await writeFile(path.join(agent, 'preview-smoke.yaml'), options.smoke);
  if (options.acpType) {
    const manifest = path.join(agent, 'manifest.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('acp_type: sync', `acp_type: ${options.acpType}`));
  }
  return dir;
}

async function reportDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ap-smoke-report-'));
  dirs.push(dir);
  return dir;
}

/** Each test's world: the local platform, a forge with PR 2 open at A, and a run of the action in a workspace of the test's. */
function smokeEnv(flavor: ForgeFlavor) {
  const env = usePreviewEnv({ apiKey: API_KEY, token: TOKEN, flavor, pull: { number: 2, headSha: A } });
  const run = (workspace: string, sha: string, inputs: Record<string, string> = {}, runnerEnv: NodeJS.ProcessEnv = {}, action = 'opened'): Promise<ActionRun> =>
    env.run(env.pullRequestEvent(action, sha), inputs, { workspace, env: runnerEnv });
  const rpcCalls = (): number => env.local.requests.filter((request) => request.route === 'agents.deployments.rpc').length;
  const smokeStatuses = (sha: string): Json[] => env.forge.commitStatuses(OWNER, REPO, sha).filter((status) => status.context === 'agent-preview/smoke');
  const stickyComment = (): string => {
    const comments = env.forge.comments(OWNER, REPO, 2).filter((comment) => comment.body.includes(STICKY_MARKER));
    expect(comments).toHaveLength(1);
    return comments[0].body;
  };
  return { env, run, rpcCalls, smokeStatuses, stickyComment };
}

describe.each(['github', 'gitea'] as const)('conversations with the preview, on %s', (flavor) => {
  const { env, run, rpcCalls, smokeStatuses, stickyComment } = smokeEnv(flavor);

  it("posts the agent's replies and sets agent-preview/smoke; an unchanged preview shows its last result without talking to it again", async () => {
    const workspace = await workspaceWith();
    const reports = await reportDir();
    const first = await run(workspace, A, {}, { RUNNER_TEMP: reports });
    expect(first.log).not.toMatch(/::error::/);
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({ status: 'healthy', smoke: 'passed' });
    const body = stickyComment();
    expect(body).toContain('#### Conversations with the preview · ✅ passed');
    expect(body).toMatch(/- \*\*hello-agent\*\* ✅ 2\/2 · \d+\.\d s/);
    expect(body).toContain('‹ Hello, Hello! This reply comes from hello-agent.');
    expect(body).toContain('‹ Hello, Ada! This reply comes from hello-agent.');
    expect(body).toContain(`💬 Talk to this preview yourself: \`npx agent-preview --platform local --api-url ${env.local.url} chat --pr 2 --repo`);
    expect(smokeStatuses(A)).toEqual([expect.objectContaining({ state: 'success', description: expect.stringMatching(/^2\/2 turns passed · \d+\.\d s$/) })]);
    // The job log has the transcript inside a stop-commands block, and the report every turn.
    expect(first.log).toContain('::group::conversations hello-agent');
    expect(first.outputs['smoke-report']).toBe(path.join(reports, `agent-preview-smoke-${first.outputs['preview-label']}.json`));
    const report = JSON.parse(await readFile(first.outputs['smoke-report'], 'utf8'));
    expect(report).toMatchObject({ schema: 'agent-preview/smoke-report@1', verdict: 'passed', platform: 'local', pullRequest: 2, commit: A });
    expect(report.agents[0].conversations[0].turns.map((turn: Json) => [turn.send, turn.reply, turn.verdict])).toEqual([
      ['Hello', 'Hello, Hello! This reply comes from hello-agent.', 'passed'],
      ['Ada', 'Hello, Ada! This reply comes from hello-agent.', 'passed'],
    ]);
    expect(report.agents[0].conversations[0].turns[0].latencyMs).toBeGreaterThan(0);
    const calls = rpcCalls();
    expect(calls).toBeGreaterThan(0);

    // A push that changes nothing of the agent keeps the preview, and shows its last conversations.
    env.forge.setPullRequestHead(OWNER, REPO, 2, B);
    const second = await run(workspace, B, {}, { RUNNER_TEMP: reports }, 'synchronize');
    expect(second.code).toBe(0);
    expect(second.outputs).toMatchObject({ status: 'unchanged', smoke: 'passed' });
    expect(rpcCalls()).toBe(calls);
    expect(second.log).toContain('hello-agent: the preview is unchanged; showing its last conversations instead of holding them again');
    const kept = stickyComment();
    expect(kept).toContain('(kept from `aaaaaaa`: the preview is unchanged)');
    expect(kept).toContain('‹ Hello, Ada! This reply comes from hello-agent.');
    expect(smokeStatuses(B)).toEqual([expect.objectContaining({ state: 'success', description: expect.stringMatching(/\(kept from aaaaaaa\)$/) })]);

    // Changing the smoke file is a new script: it is held again.
    await writeFile(path.join(workspace, 'agents', 'hello', 'preview-smoke.yaml'), 'conversations: [{name: again, turns: [{send: Bob, expect: {contains: Bob}}]}]\n');
    const third = await run(workspace, B, {}, { RUNNER_TEMP: reports }, 'synchronize');
    expect(third.outputs).toMatchObject({ status: 'unchanged', smoke: 'passed' });
    expect(rpcCalls()).toBeGreaterThan(calls);
    expect(stickyComment()).toContain('‹ Hello, Bob! This reply comes from hello-agent.');
  });

  it('a failed expectation fails the step, names it in the comment and the status; with smoke: report the step passes', async () => {
    const workspace = await workspaceWith({ code: [agentCodeDirective(AGENT_DIRECTIVES.wrong)] });
    const failed = await run(workspace, A);
    expect(failed.code).toBe(1);
    expect(failed.outputs).toMatchObject({ status: 'healthy', smoke: 'failed' });
    expect(failed.log).toMatch(/::error::conversations with the preview failed: hello-agent: greets, turn 1: expected contains "Hello" \(the reply does not contain "Hello"\)/);
    const body = stickyComment();
    expect(body).toContain('- **hello-agent** ❌ 0/2');
    expect(body).toContain(String.raw`greets, turn 1: expected contains "Hello" \(the reply does not contain "Hello"\)`);
    expect(body).toContain('‹ This is a wrong answer from the local platform.');
    expect(smokeStatuses(A).at(-1)).toMatchObject({ state: 'failure', description: expect.stringMatching(/^hello-agent: greets, turn 1: expected contains "Hello"/) });

    const reported = await run(workspace, A, { SMOKE: 'report', REDEPLOY: 'always' });
    expect(reported.code).toBe(0);
    expect(reported.outputs).toMatchObject({ status: 'healthy', smoke: 'failed' });
    expect(reported.log).toMatch(/::warning::conversations with the preview failed \(smoke: report, so the step does not fail\)/);
    expect(smokeStatuses(A).at(-1)).toMatchObject({ state: 'failure' });
  });
});

describe('conversations with the preview, on github: every way a conversation goes wrong', () => {
  const { env, run, smokeStatuses, stickyComment } = smokeEnv('github');

  it('a reply full of workflow commands, backticks, mentions and HTML runs nothing and renders as text', async () => {
    const hostile = [
      'hi',
      '::error::pwned',
      '::set-output name=smoke::passed-by-the-agent',
      '##[add-mask]x',
      '````',
      '</details><img src=x onerror=alert(1)>',
      '@octocat @acme/security look',
    ].join('\\n');
    const workspace = await workspaceWith({ smoke: `conversations:\n  - name: hostile\n    turns:\n      - send: "${hostile}"\n        expect: {contains: "@octocat"}\n` });
    const result = await run(workspace, A);
    expect(result.code).toBe(0);
    expect(result.outputs.smoke).toBe('passed');
    // The runner executed no command the reply carried.
    expect(result.commands.filter((command) => /pwned|passed-by-the-agent/.test(command.data) || (command.name === 'add-mask' && command.data === 'x'))).toEqual([]);
    expect(result.log).toMatch(/^ {2}::error::pwned$/m);
    const body = stickyComment();
    const html = micromark(body, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] });
    const live = html.replace(/<pre><code[^>]*>[\s\S]*?<\/code><\/pre>/g, '').replace(/<code>[\s\S]*?<\/code>/g, '');
    expect(live).not.toMatch(/<img|onerror/);
    expect(live).not.toMatch(/@[0-9A-Za-z]/);
    expect(html).toMatch(/<pre><code class="language-text">[\s\S]*&lt;\/details&gt;&lt;img src=x onerror=alert\(1\)&gt;[\s\S]*@octocat[\s\S]*<\/code><\/pre>\n<\/details>/);
  });

  it('a slow agent fails at the turn timeout; a JSON-RPC error fails with its message', async () => {
    const slow = await workspaceWith({
      code: [agentCodeDirective(AGENT_DIRECTIVES.slow, '30s')],
      smoke: 'conversations:\n  - name: waits\n    timeout: 1s\n    turns: [{send: Hello}]\n',
    });
    const timedOut = await run(slow, A);
    expect(timedOut.code).toBe(1);
    expect(timedOut.outputs.smoke).toBe('failed');
    expect(timedOut.log).toContain("::error::conversations with the preview failed: hello-agent: waits, turn 1: no reply within 1s (the turn's timeout)");

    const failing = await workspaceWith({ code: [agentCodeDirective(AGENT_DIRECTIVES.fail, 'the model is down')] });
    const rpcError = await run(failing, A, { REDEPLOY: 'always' });
    expect(rpcError.code).toBe(1);
    expect(rpcError.log).toMatch(
      /::error::conversations with the preview failed: hello-agent: greets, turn 1: message\/send on deployment \S+ failed with JSON-RPC error -32603: the model is down/,
    );
    // After a turn without a reply, the rest of the conversation is not sent.
    expect(stickyComment()).toMatch(/› Ada\n {2}\(not sent\)/);
  });

  it('a preview that never becomes Ready on the Agentex server fails, naming the deployment', async () => {
    const workspace = await workspaceWith({ code: [agentCodeDirective(AGENT_DIRECTIVES.neverReady)] });
    const result = await run(workspace, A, { TIMEOUT: '3s' });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ status: 'healthy', smoke: 'failed' });
    const deployment = result.outputs['deployment-id'];
    expect(result.log).toContain(
      `could not open a conversation with hello-agent's preview (deployment ${deployment}): SGP deployment ${deployment} was not Ready on the Agentex server within 3s`,
    );
    const html = micromark(stickyComment(), { extensions: [gfm()], htmlExtensions: [gfmHtml()] });
    expect(html).toContain(`SGP deployment ${deployment} was not Ready on the Agentex server within 3s`);
  });

  it('an async agent answers through its task; smoke-message holds one turn where there is no file', async () => {
    const workspace = await workspaceWith({ acpType: 'async', smoke: null });
    const result = await run(workspace, A, { 'SMOKE-MESSAGE': 'Hello there' });
    expect(result.code).toBe(0);
    expect(result.outputs.smoke).toBe('passed');
    const body = stickyComment();
    expect(body).toContain('- **hello-agent** ✅ 1/1');
    expect(body).toContain('‹ Hello, Hello there! This reply comes from hello-agent.');
    expect(body).toContain('✔ a non-empty reply');
    expect(env.local.requests.some((request) => request.route === 'messages.list')).toBe(true);

    const off = await run(workspace, A, { 'SMOKE-MESSAGE': 'Hello there', SMOKE: 'off', REDEPLOY: 'always' });
    expect(off.outputs.smoke).toBe('skipped');
  });

  it('on Agentex without the Agentex server address, says unsupported and why, and passes; with agentex-url it talks', async () => {
    const workspace = await workspaceWith();
    const agentex = { PLATFORM: 'agentex', 'ACCOUNT-ID': 'acct-local' };
    const unsupported = await run(workspace, A, agentex);
    expect(unsupported.code).toBe(0);
    expect(unsupported.outputs.smoke).toBe('unsupported');
    expect(unsupported.log).toContain(`::notice::agent-preview: conversations not held: ${NO_AGENTEX_SERVER}`);
    const body = stickyComment();
    expect(body).toContain('#### Conversations with the preview · 🚫 unsupported');
    expect(body).toContain('- **hello-agent** 🚫 not tested: talking to an Agentex preview needs the Agentex server');
    expect(body).not.toContain('Talk to this preview yourself');
    expect(smokeStatuses(A)).toEqual([]);

    const talked = await run(workspace, A, { ...agentex, 'AGENTEX-URL': env.local.url, REDEPLOY: 'always' });
    expect(talked.code).toBe(0);
    expect(talked.outputs.smoke).toBe('passed');
    expect(stickyComment()).toContain(`chat --pr 2 --repo github.com/codertocat/hello-world --agentex-url ${env.local.url}`);
  });

  it('a bad preview-smoke.yaml fails before anything is deployed, naming file, line and field', async () => {
    const workspace = await workspaceWith({ smoke: 'conversations:\n  - name: greets\n    turns:\n      - send: Hello\n        expect: {contians: Hello}\n' });
    const result = await run(workspace, A);
    expect(result.code).toBe(1);
    expect(result.log).toContain(
      `::error::${path.join(workspace, 'agents', 'hello', 'preview-smoke.yaml')}:5, field "conversations[0].turns[0].expect.contians": unknown key "contians"`,
    );
    expect(env.local.requests).toEqual([]);
    expect(env.forge.comments(OWNER, REPO, 2)).toEqual([]);
  });
});
