import { ConversationError, InputError } from '../../../src/errors.js';
import { AGENT_DIRECTIVES, agentCodeDirective, agentMessageDirective, startLocalPlatform, WRONG_REPLY, type LocalPlatform } from '../../../src/local-platform/index.js';
import { createPlatform } from '../../../src/platforms/index.js';
import type { Deployment, Platform } from '../../../src/platforms/platform.js';
import path from 'node:path';
import { loadManifest, packContext } from '../../../src/context/index.js';
import { deployPreview as preview } from '../../support/agentex-preview.js';
import { copyHelloAgent, editFile, removeAgentCopies } from '../../support/agents.js';
import { until } from '../../support/wait.js';

const KEY = 'sk-conversation-test-key';
const METADATA = { repository: 'github.com/acme/bots', pull_request: '7', commit: 'c0ffee' };
/** The production route of an agent, which a preview conversation must never use. */
const PRODUCTION_RPC = /^\/agents\/[^/]+\/rpc$/;
let local: LocalPlatform;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 10, deployStepMs: 10 });
});
afterEach(async () => {
  expect(local.requests.filter((request) => PRODUCTION_RPC.test(request.path))).toEqual([]);
  await local.close();
  await removeAgentCopies();
});

/** examples/hello-agent (a private copy), packed as the pipeline packs it. */
async function packedHelloAgent(dir: string) {
  const manifest = await loadManifest(path.join(dir, 'manifest.yaml'));
  const packed = await packContext(manifest);
  return { ...packed, manifestText: manifest.text };
}

function localPlatform(): Platform {
  return createPlatform({ platform: 'local', apiUrl: local.url, apiKey: KEY, retry: { minDelayMs: 1, maxDelayMs: 5 } });
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const init: RequestInit = { method, headers: { 'x-api-key': KEY, 'content-type': 'application/json' } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${local.url}${path}`, init);
  return { status: response.status, body: await response.json() };
}

const open = (platform: Platform, deployment: Deployment, agentName: string, readyTimeoutMs = 5_000) =>
  platform.conversation!.open({ deployment, agentName, metadata: METADATA }, { readyTimeoutMs, pollIntervalMs: 20 });

describe('talking to a preview through the Agentex server routes of the local platform', () => {
  it('holds a two-turn conversation with a sync agent on one task, which carries our metadata', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, {
      agent: 'sync-agent',
      code: [agentCodeDirective(AGENT_DIRECTIVES.reply, 'Turn {turn} for {agent}: {message} (before: "{previous}")')],
    });
    const session = await open(platform, deployment, 'sync-agent');

    const first = await session.send('Hello');
    const second = await session.send('How are you?');
    expect(first.text).toBe('Turn 1 for sync-agent: Hello (before: "")');
    expect(second.text).toBe('Turn 2 for sync-agent: How are you? (before: "Hello")');
    expect(first.raw).toMatchObject({ task_id: session.id, sgp_deploy_id: deployment.id });
    expect((second.raw as { task_id: string }).task_id).toBe(session.id);

    const task = await call('GET', `/tasks/${session.id}`);
    expect(task.body).toMatchObject({ id: session.id, status: 'RUNNING', task_metadata: METADATA, name: expect.stringMatching(/^agent-preview-sync-agent-/) });
    const history = await call('GET', `/messages?task_id=${session.id}&order_direction=asc`);
    expect(history.body.map((message: any) => [message.content.author, message.content.content])).toEqual([
      ['user', 'Hello'],
      ['agent', first.text],
      ['user', 'How are you?'],
      ['agent', second.text],
    ]);
    const rpcCalls = local.requests.filter((request) => request.route === 'agents.deployments.rpc');
    expect(rpcCalls).toHaveLength(3);
    expect(new Set(rpcCalls.map((request) => request.path)).size).toBe(1);
  });

  it('holds a conversation with an async agent: event/send, then the reply read from the task messages, past a welcome and a half-written message', async () => {
    const platform = localPlatform();
    const code = [agentCodeDirective(AGENT_DIRECTIVES.welcome, 'Welcome! I am ready.'), agentCodeDirective(AGENT_DIRECTIVES.reply, '{agent} heard "{message}" on turn {turn}')];
    const deployment = await preview(platform, { agent: 'async-agent', acpType: 'async', code });
    const session = await open(platform, deployment, 'async-agent');

    expect((await session.send('first')).text).toBe('async-agent heard "first" on turn 1');
    // Slow: the reply sits IN_PROGRESS with half its text before it is DONE; only the whole reply counts.
    const slow = await session.send(`second ${agentMessageDirective(AGENT_DIRECTIVES.slow, '150ms')}`);
    expect(slow.text).toBe('async-agent heard "second" on turn 2');
    expect(local.requests.some((request) => request.route === 'messages.list')).toBe(true);

    await session.close!();
    expect((await call('GET', `/tasks/${session.id}`)).body.status).toBe('CANCELED');
    expect(local.requests.filter((request) => request.route === 'agents.deployments.rpc')).toHaveLength(4);
  });

  it('fails a turn that the agent answers with a JSON-RPC error, with its message and code', async () => {
    const platform = localPlatform();
    const sync = await preview(platform, { agent: 'failing-agent' });
    const session = await open(platform, sync, 'failing-agent');
    const failure = await session.send(`Hello ${agentMessageDirective(AGENT_DIRECTIVES.fail, 'the model is down')}`).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConversationError);
    expect(failure).toMatchObject({ code: -32603, message: expect.stringContaining('JSON-RPC error -32603: the model is down') });

    const asyncAgent = await preview(platform, { agent: 'failing-async', acpType: 'agentic', code: [agentCodeDirective(AGENT_DIRECTIVES.fail)] });
    const asyncSession = await open(platform, asyncAgent, 'failing-async');
    await expect(asyncSession.send('Hello')).rejects.toMatchObject({ code: -32603, message: expect.stringContaining('the agent failed (local-platform: fail)') });
  });

  it('answers as the example agent code declares, and otherwise once a pull request changes that line', async () => {
    const platform = localPlatform();
    const dir = await copyHelloAgent();
    const before = await preview(platform, { agent: 'hello-agent', packed: await packedHelloAgent(dir) });
    expect((await (await open(platform, before, 'hello-agent')).send('Hi')).text).toBe('Hello, Hi! This reply comes from hello-agent.');

    await editFile(path.join(dir, 'project', 'acp.py'), (text) => text.replace('# local-platform: reply Hello, {message}!', '# local-platform: reply Howdy, {message}!'));
    const after = await preview(platform, { agent: 'hello-agent', packed: await packedHelloAgent(dir) });
    expect((await (await open(platform, after, 'hello-agent')).send('Hi')).text).toBe('Howdy, Hi! This reply comes from hello-agent.');
  });

  it('gives a wrong answer when told to, so an expectation can fail', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'wrong-agent', code: [agentCodeDirective(AGENT_DIRECTIVES.wrong)] });
    const session = await open(platform, deployment, 'wrong-agent');
    expect((await session.send('Hello')).text).toBe(WRONG_REPLY);
  });

  it('fails clearly, within the ready timeout, when the preview never becomes Ready on the Agentex server', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'stuck-agent', code: [agentCodeDirective(AGENT_DIRECTIVES.neverReady)] });
    expect(deployment.phase).toBe('healthy');
    const failure = (await open(platform, deployment, 'stuck-agent', 300).catch((err: unknown) => err)) as ConversationError;
    expect(failure).toBeInstanceOf(ConversationError);
    expect(failure.code).toBe('not-ready');
    expect(failure.message).toMatch(
      new RegExp(`SGP deployment ${deployment.id} was not Ready on the Agentex server within 300ms: its record [0-9a-f-]{36} is Pending with no acp_url`),
    );
  });

  it('fails at once when the deployment record is Failed (the preview crashed)', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'crash-agent', dockerfile: 'FROM python:3.12\n# local-platform: crash\n' });
    expect(deployment.phase).toBe('failed');
    await expect(open(platform, deployment, 'crash-agent', 60_000)).rejects.toMatchObject({
      code: 'deployment-failed',
      message: expect.stringContaining(`for SGP deployment ${deployment.id}`),
    });
  });

  it('stops a slow turn when its signal aborts, sync or async, with the signal reason', async () => {
    const platform = localPlatform();
    const sync = await preview(platform, { agent: 'slow-agent', code: [agentCodeDirective(AGENT_DIRECTIVES.slow, '10m')] });
    const syncSession = await open(platform, sync, 'slow-agent');
    await expect(syncSession.send('Hello', { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });

    const asyncAgent = await preview(platform, { agent: 'slow-async', acpType: 'async', code: [agentCodeDirective(AGENT_DIRECTIVES.slow, '10m')] });
    const asyncSession = await open(platform, asyncAgent, 'slow-async');
    const controller = new AbortController();
    const turn = asyncSession.send('Hello', { signal: controller.signal });
    await until(
      async () => local.requests.filter((request) => request.route === 'messages.list').length,
      (polls) => polls >= 3,
    );
    controller.abort(new Error('turn timeout'));
    await expect(turn).rejects.toThrow('turn timeout');
  });

  it('reports a silent sync agent as no reply', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'quiet-agent', code: [agentCodeDirective(AGENT_DIRECTIVES.silent)] });
    const session = await open(platform, deployment, 'quiet-agent');
    await expect(session.send('Hello')).rejects.toMatchObject({ code: 'no-reply' });
  });

  it('rides out rate limits and outages of the Agentex server routes', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'flaky-agent', acpType: 'async' });
    local.faults.add({ route: 'agents.byName', status: 503, times: 2 });
    local.faults.add({ route: 'agents.deployments.rpc', status: 429, retryAfterSeconds: 0, times: 2 });
    local.faults.add({ route: 'messages.list', status: 502, times: 2 });
    const session = await open(platform, deployment, 'flaky-agent');
    expect((await session.send('Hi')).text).toBe('Hello, Hi! This reply comes from flaky-agent.');
    // A lost answer to event/send is not sent again: the agent may have acted on it.
    local.faults.add({ route: 'agents.deployments.rpc', status: 502, afterHandling: true });
    await expect(session.send('again')).rejects.toMatchObject({ code: 502 });
  });

  it('names an agent the Agentex server does not know', async () => {
    const platform = localPlatform();
    const deployment = await preview(platform, { agent: 'known-agent' });
    await expect(open(platform, deployment, 'unknown-agent')).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining(`no agent named "unknown-agent" (Item with name 'unknown-agent' does not exist.)`),
    });
  });
});

describe('Agentex conversations need the Agentex server address', () => {
  const base = { platform: 'agentex', apiKey: 'sk-agentex-test', apiUrl: 'https://api.example.com' };

  it('says what to set when there is none', () => {
    const platform = createPlatform({ ...base, env: {} });
    expect(platform.conversation).toBeUndefined();
    expect(platform.conversationUnsupported).toContain('agentex-url input');
    expect(platform.conversationUnsupported).toContain('--agentex-url');
    expect(platform.conversationUnsupported).toContain('AGENTEX_BASE_URL');
  });

  it('takes it from the setting or AGENTEX_BASE_URL, and refuses one that is not a URL', () => {
    expect(createPlatform({ ...base, env: { AGENTEX_BASE_URL: 'https://agentex.example.com' } }).conversation).toBeDefined();
    expect(createPlatform({ ...base, agentexUrl: 'https://agentex.example.com', env: {} }).conversationUnsupported).toBeUndefined();
    expect(() => createPlatform({ ...base, agentexUrl: 'agentex.example.com', env: {} })).toThrow(InputError);
  });
});
