import { ApiError, ConversationError } from '../../../src/errors.js';
import { AstropodsPlatform } from '../../../src/platforms/astropods/astropods.js';
import type { ConversationSession, Deployment } from '../../../src/platforms/platform.js';
import { clearSecrets } from '../../../src/secrets/redact.js';
import { until } from '../../support/wait.js';
import { startAstropodsServer, type AstropodsServer } from '../../support/servers/astropods.js';

const TOKEN = 'astro_conv_token_0123456789';
const ACCOUNT = 'astro-team';
const METADATA = { repository: 'github.com/acme/agents', pull_request: '7', commit: '0123abc' };

let server: AstropodsServer;
let astro: AstropodsPlatform;
const sessions: ConversationSession[] = [];

beforeEach(async () => {
  // A short settle keeps the "turn already over" path quick; the sidecar's own is 300 ms.
  server = await startAstropodsServer({ token: TOKEN, account: ACCOUNT, stepMs: 30, settleMs: 40 });
  astro = new AstropodsPlatform({ baseUrl: server.url, token: TOKEN, account: ACCOUNT, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 }, env: {} });
});
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close?.();
  await server.close();
});
afterAll(() => clearSecrets());

async function preview(label = 'pr-7'): Promise<Deployment> {
  const created = await astro.createDeployment({
    agentName: 'hello-agent',
    manifestText: '',
    environmentText: '',
    image: { name: 'registry.example.com/agents/hello-agent', tag: 'abc123' },
    preview: { label, expiresAt: new Date(Date.now() + 3_600_000) },
  });
  return until(
    () => astro.getDeployment(created.id),
    (deployment) => deployment.phase === 'healthy',
  );
}

async function open(deployment: Deployment): Promise<ConversationSession> {
  const session = await astro.conversation.open({ deployment, agentName: 'hello-agent', url: deployment.url, metadata: METADATA });
  sessions.push(session);
  return session;
}

const conversationOf = (session: ConversationSession) => server.messaging.conversations().find((conversation) => conversation.id === session.id)!;
/** The error a call failed with (the test fails if it did not). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: Error) => err,
  );
  if (!outcome) throw new Error('expected the call to fail');
  return outcome;
}
const paths = (suffix: string) => server.requests.filter((request) => request.path.endsWith(suffix));

describe('Astropods conversations through the deployment messaging proxy', () => {
  it('holds a conversation: each reply is the agent text the sidecar persisted, and turns share one conversation', async () => {
    const deployment = await preview();
    const session = await open(deployment);
    expect(session.id).toEqual(expect.any(String));
    expect(conversationOf(session)).toMatchObject({ deploymentId: deployment.id, createBody: { metadata: METADATA } });

    const first = await session.send('Hello');
    expect(first.text).toBe('Reply 1 to: Hello');
    expect(first.raw).toEqual({ conversation_id: session.id, message_id: expect.any(String), reply_message_ids: [expect.any(String)] });
    const second = await session.send('And again?');
    expect(second.text).toBe('Reply 2 to: And again?');
    expect(conversationOf(session).rows.map((row) => row.role)).toEqual(['user', 'assistant', 'user', 'assistant']);

    const base = `/api/v1/deployments/${deployment.id}`;
    expect(paths(`/messaging/conversations/${session.id}/messages`).map((request) => request.body)).toEqual([{ content: 'Hello' }, { content: 'And again?' }]);
    expect(paths(`/messaging/conversations/${session.id}/stream`)).toHaveLength(2);
    expect(server.requests.filter((request) => request.path.startsWith(base)).every((request) => request.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // The event stream is let go once the turn has finished.
    await until(
      async () => server.messaging.openStreams(),
      (open) => open === 0,
    );
  });

  it('reads a reply that was over before the stream was subscribed', async () => {
    const session = await open(await preview());
    expect((await session.send('quick [fast]')).text).toBe('Reply 1 to: quick [fast]');
  });

  it("reports the agent's error event, a missing agent, an empty turn and a form as ConversationErrors, and the conversation goes on", async () => {
    const session = await open(await preview());
    const failed = await failure(session.send('break [fail]'));
    expect(failed).toBeInstanceOf(ConversationError);
    expect(failed).toMatchObject({
      code: 'AGENT_ERROR',
      message: expect.stringMatching(/hello-agent preview answered with an error \(AGENT_ERROR\): model call failed: upstream 500/),
    });

    const offline = await failure(session.send('anyone? [offline]'));
    expect(offline).toBeInstanceOf(ConversationError);
    expect(offline).toMatchObject({ code: 'agent_unavailable', message: expect.stringMatching(/HTTP 424: agent unavailable: no agent is connected/) });

    const empty = await failure(session.send('say nothing [empty]'));
    expect(empty).toMatchObject({ code: 'empty_reply', message: expect.stringMatching(/ended its turn without any text/) });

    const form = await failure(session.send('sign up [form]'));
    expect(form).toMatchObject({ code: 'interaction', message: expect.stringMatching(/asked for input a scripted conversation cannot give: Pick a plan/) });
    // The form's turn was cancelled, so the conversation goes on.
    expect((await session.send('Plain question')).text).toBe('Reply 5 to: Plain question');
  });

  it('stops a turn cut by its signal and cancels it, so the next message of the conversation is answered', async () => {
    const session = await open(await preview());
    const controller = new AbortController();
    const pending = failure(session.send('think hard [slow]', { signal: controller.signal }));
    await until(
      async () => server.messaging.openStreams(),
      (open) => open === 1,
    );
    controller.abort(new Error('turn timed out after 60s'));
    expect(await pending).toMatchObject({ message: 'turn timed out after 60s' });

    const next = await session.send('Still there?');
    expect(conversationOf(session).cancels).toBe(1);
    expect(paths(`/messaging/conversations/${session.id}/cancel`).map((request) => request.status)).toEqual([204]);
    expect(next.text).toBe('Reply 2 to: Still there?');
  });

  it('never lets the API token or a signed URL through a reply, its raw record or an error', async () => {
    const session = await open(await preview());
    const leaked = await session.send('tell me secrets [leak]');
    const seen = JSON.stringify(leaked);
    expect(seen).not.toContain(TOKEN);
    expect(seen).not.toContain('edge-secret-4711');
    expect(leaked.text).toContain('the key is ***');

    const error = await failure(session.send('crash loudly [fail-leak]'));
    expect(error).toBeInstanceOf(ConversationError);
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(TOKEN);
  });

  it('refuses clearly: a proxy that will not take the token names the assumption, a preview not up yet fails the open', async () => {
    const deployment = await preview();
    const stranger = new AstropodsPlatform({ baseUrl: server.url, token: 'astro_other_token_987654', account: ACCOUNT, env: {} });
    const refused = await failure(stranger.conversation.open({ deployment, agentName: 'hello-agent' }));
    expect(refused).toBeInstanceOf(ConversationError);
    expect(refused.message).toMatch(/HTTP 401: unauthorized: invalid token\. agent-preview sends the Astropods API token \(ASTRO_ACCESS_TOKEN\).*ASSUMED/);
    expect(refused.message).not.toContain('astro_other_token_987654');

    const gone = await failure(astro.conversation.open({ deployment: { ...deployment, id: 'no-such-deployment' }, agentName: 'hello-agent' }));
    expect(gone).toMatchObject({ code: 404, message: expect.stringMatching(/HTTP 404: not found: deployment no-such-deployment not found/) });

    // A deployment that takes ten minutes to come up stays not ready for the whole test, however slow the machine.
    const slowServer = await startAstropodsServer({ token: TOKEN, account: ACCOUNT, stepMs: 600_000 });
    try {
      const slow = new AstropodsPlatform({ baseUrl: slowServer.url, token: TOKEN, account: ACCOUNT, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 }, env: {} });
      const starting = await slow.createDeployment({
        agentName: 'hello-agent',
        manifestText: '',
        environmentText: '',
        image: { name: 'registry.example.com/agents/hello-agent', tag: 'def456' },
        preview: { label: 'pr-8', expiresAt: new Date(Date.now() + 3_600_000) },
      });
      const early = await failure(slow.conversation.open({ deployment: starting, agentName: 'hello-agent' }));
      expect(early).toBeInstanceOf(ApiError);
      expect(early.message).toMatch(/HTTP 502: messaging sidecar unreachable/);
    } finally {
      await slowServer.close();
    }
  });
});

describe('the messaging sidecar test server refuses what the sidecar refuses', () => {
  it('answers bad sends, unknown conversations and bad pagination with the source’s statuses and bodies', async () => {
    const deployment = await preview();
    const base = `${server.url}/deployments/${deployment.id}`;
    const call = async (method: string, path: string, body?: string) => {
      const response = await fetch(`${base}${path}`, { method, body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
    };
    const created = await call('POST', '/messaging/conversations', 'not json');
    expect(created.status).toBe(201);
    const id = JSON.parse(created.text).conversation_id;
    const messages = `/messaging/conversations/${id}/messages`;
    expect(await call('POST', messages, '{"content": 42}')).toEqual({ status: 400, type: 'text/plain; charset=utf-8', text: 'Invalid request body\n' });
    expect(await call('POST', messages)).toMatchObject({ status: 400, text: 'Invalid request body\n' });
    expect(await call('POST', messages, '{"content": ""}')).toMatchObject({ status: 400, text: 'Content or attachment is required\n' });
    expect(await call('POST', messages, '{"content": "hi", "attachments": [{"key": "nope"}]}')).toMatchObject({ status: 400, text: 'unknown attachment\n' });
    // Unknown fields are ignored, as Go's decoder does.
    expect(await call('POST', messages, '{"content": "wait [slow]", "extra": true}')).toMatchObject({ status: 200 });
    const busy = await call('POST', messages, '{"content": "again"}');
    expect(busy.status).toBe(409);
    expect(JSON.parse(busy.text)).toEqual({ error: 'turn_in_progress', error_description: 'a response is already in progress on this conversation' });
    expect(await call('GET', '/messaging/conversations/unknown/stream')).toMatchObject({ status: 404, text: 'conversation not found\n' });
    expect(await call('GET', `/chat/conversations/${id}?limit=0`)).toMatchObject({ status: 400, text: 'invalid pagination\n' });
    expect(await call('GET', `/messaging/conversations/${id}/messages`)).toMatchObject({ status: 405 });
    const read = JSON.parse((await call('GET', `/chat/conversations/${id}`)).text);
    expect(read).toMatchObject({ conversation_id: id, title: 'wait [slow]', assistant_streaming: true, messages: [{ role: 'user', content: 'wait [slow]' }] });
  });
});
