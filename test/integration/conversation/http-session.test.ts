import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConversationError } from '../../../src/errors.js';
import { openHttpSession, resolvePointer } from '../../../src/conversation/http-session.js';
import { runSmoke, type SmokeRequest } from '../../../src/conversation/runner.js';
import { parseSmokeScript } from '../../../src/conversation/script.js';
import { buildSmokeReport, serializeSmokeReport } from '../../../src/conversation/report.js';

/**
 * An agent's own chat API, as a preview serves it under its URL (`/previews/x/`). It is the user's
 * API, not a vendor's, so its rules are this test's: JSON in with exactly `{input: {text}, session}`
 * (anything else is a 422 naming the field), a reply in `{output: [{text}]}`, history kept per
 * session; `/ask?q=` answers text; `/slow` never answers; `/broken` is a 500.
 */
interface Agent {
  url: string;
  requests: { method: string; path: string; contentType?: string; body: string }[];
  close(): Promise<void>;
}

async function startAgent(): Promise<Agent> {
  const histories = new Map<string, string[]>();
  const requests: Agent['requests'] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://agent');
    requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, contentType: req.headers['content-type'], body });
    const reply = (status: number, value: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(type === 'application/json' ? JSON.stringify(value) : String(value));
    };
    if (url.pathname === '/previews/x/slow') return; // never answers
    if (url.pathname === '/previews/x/broken') return reply(500, { detail: 'model backend unavailable' });
    if (url.pathname === '/previews/x/ask' && req.method === 'GET') return reply(200, `you asked: ${url.searchParams.get('q')}`, 'text/plain');
    if (url.pathname !== '/previews/x/chat' || req.method !== 'POST') return reply(404, { detail: 'Not Found' });
    if (!req.headers['content-type']?.startsWith('application/json')) return reply(415, { detail: 'send application/json' });
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body);
    } catch {
      return reply(400, { detail: 'invalid JSON' });
    }
    const unknown = Object.keys(parsed).find((key) => key !== 'input' && key !== 'session');
    const text = (parsed.input as { text?: unknown } | undefined)?.text;
    if (unknown) return reply(422, { detail: [{ loc: ['body', unknown], msg: 'extra fields not permitted' }] });
    if (typeof text !== 'string' || typeof parsed.session !== 'string') return reply(422, { detail: [{ loc: ['body', 'input', 'text'], msg: 'field required' }] });
    const history = histories.get(parsed.session) ?? [];
    history.push(text);
    histories.set(parsed.session, history);
    return reply(200, { output: [{ text: `#${history.length}: ${text}` }], usage: { tokens: 3 } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/previews/x/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let agent: Agent;
beforeEach(async () => {
  agent = await startAgent();
});
afterEach(async () => {
  await agent.close();
});

const CHAT = 'http:\n  path: /chat\n  body: {input: {text: "{message}"}, session: "{conversation}"}\n  reply: /output/0/text\n';

async function request(yaml: string, url: string | null = agent.url): Promise<SmokeRequest> {
  return {
    agent: 'web-agent',
    script: await parseSmokeScript(yaml, 'preview-smoke.yaml'),
    target: { deployment: { id: 'dep-1', phase: 'healthy', rawStatus: 'running', events: [] }, agentName: 'web-agent', url: url ?? undefined },
  };
}

describe('the http: conversation against a preview URL', () => {
  it('posts each message as JSON under the preview path, reads the reply by pointer, and keeps one id per conversation', async () => {
    const [result] = await runSmoke({ name: 'mutx' }, [
      await request(
        `${CHAT}conversations:\n  - name: quotes\n    turns:\n      - send: 'say "hi" \\ {conversation}'\n        expect: {contains: '#1: say "hi"'}\n      - send: again\n        expect: {regex: "^#2: again$"}\n  - name: fresh\n    turns: [{send: new, expect: {contains: "#1: new"}}]\n`,
      ),
    ]);
    expect(result.verdict).toBe('passed');
    expect(result.conversations.map((conversation) => conversation.turns.map((turn) => turn.reply))).toEqual([['#1: say "hi" \\ {conversation}', '#2: again'], ['#1: new']]);
    expect(agent.requests.map((entry) => [entry.method, entry.path, entry.contentType])).toEqual([
      ['POST', '/previews/x/chat', 'application/json'],
      ['POST', '/previews/x/chat', 'application/json'],
      ['POST', '/previews/x/chat', 'application/json'],
    ]);
    const sessions = agent.requests.map((entry) => JSON.parse(entry.body).session);
    expect(sessions[0]).toBe(sessions[1]);
    expect(sessions[2]).not.toBe(sessions[0]);
    expect(result.conversations[0].sessionId).toBe(sessions[0]);
  });

  it('sends a GET with the message in the path, and takes a text answer whole', async () => {
    const [result] = await runSmoke({ name: 'nullspace' }, [
      await request('http: {method: GET, path: "/ask?q={message}"}\nconversations: [{name: a, turns: [{send: "a&b c?", expect: {contains: "you asked: a&b c?"}}]}]\n'),
    ]);
    expect(result.verdict).toBe('passed');
    expect(agent.requests[0]).toMatchObject({ method: 'GET', path: '/previews/x/ask?q=a%26b%20c%3F' });
  });

  it("fails a turn with the server's own words: a refused request, a 500, a pointer that finds nothing, a timeout", async () => {
    const [result] = await runSmoke({ name: 'x' }, [
      await request(
        [
          'conversations:',
          '  - name: unknown-field',
          '    http: {path: /chat, body: {input: {text: "{message}"}, session: x, extra: 1}}',
          '    turns: [{send: hi}]',
          '  - name: server-error',
          '    http: {path: /broken}',
          '    turns: [{send: hi}]',
          '  - name: wrong-pointer',
          `    http: {path: /chat, body: {input: {text: "{message}"}, session: x}, reply: /answer}`,
          '    turns: [{send: hi}]',
          '  - name: slow',
          '    timeout: 300ms',
          '    http: {path: /slow}',
          '    turns: [{send: hi}]',
        ].join('\n'),
      ),
    ]);
    expect(result.verdict).toBe('failed');
    expect(result.conversations.map((conversation) => conversation.turns[0].error)).toEqual([
      'POST /chat (send a message to the preview) failed with HTTP 422: extra: extra fields not permitted',
      'POST /broken (send a message to the preview) failed with HTTP 500: model backend unavailable',
      'the answer has nothing at the reply pointer "/answer" (no "answer")',
      "no reply within 300ms (the turn's timeout)",
    ]);
    // A message is never sent twice: a retried POST would be a second turn the agent answers and bills.
    expect(agent.requests.filter((entry) => entry.path === '/previews/x/broken')).toHaveLength(1);
  });

  it('is unsupported without a URL, and refuses a URL carrying a credential', async () => {
    const [result] = await runSmoke({ name: 'x' }, [await request(`${CHAT}conversations: [{name: a, turns: [{send: hi}]}]\n`, null)]);
    expect(result.verdict).toBe('unsupported');
    const spec = (await parseSmokeScript(`${CHAT}conversations: [{name: a, turns: [{send: hi}]}]\n`, 'f')).conversations[0].http!;
    expect(() => openHttpSession('https://x.example/?token=abc', spec)).toThrow(ConversationError);
  });

  it('writes every turn, reply, latency and verdict into the report', async () => {
    const results = await runSmoke({ name: 'x' }, [await request(`${CHAT}conversations: [{name: a, turns: [{send: hi, expect: {contains: "#1"}}]}]\n`)]);
    const report = JSON.parse(serializeSmokeReport(buildSmokeReport(results, { platform: 'mutx', pullRequest: 4, commit: 'abc' })));
    expect(report).toMatchObject({ schema: 'agent-preview/smoke-report@1', verdict: 'passed', platform: 'mutx', pullRequest: 4, commit: 'abc' });
    expect(report.agents[0].conversations[0].turns[0]).toMatchObject({ send: 'hi', reply: '#1: hi', verdict: 'passed', checks: [{ expectation: 'contains "#1"', passed: true }] });
    expect(report.agents[0].conversations[0].turns[0].latencyMs).toBeGreaterThan(0);
  });
});

describe('JSON pointers (RFC 6901)', () => {
  it('resolves the examples of RFC 6901 §5', () => {
    const document = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };
    const cases: [string, unknown][] = [
      ['', document],
      ['/foo', ['bar', 'baz']],
      ['/foo/0', 'bar'],
      ['/', 0],
      ['/a~1b', 1],
      ['/c%d', 2],
      ['/e^f', 3],
      ['/g|h', 4],
      ['/i\\j', 5],
      ['/k"l', 6],
      ['/ ', 7],
      ['/m~0n', 8],
    ];
    for (const [pointer, value] of cases) expect(resolvePointer(document, pointer)).toEqual({ found: true, value });
    expect(resolvePointer(document, '/foo/2')).toEqual({ found: false, at: '2' });
    expect(resolvePointer(document, '/foo/01')).toEqual({ found: false, at: '01' });
    expect(resolvePointer({ a: 1 }, '/constructor')).toEqual({ found: false, at: 'constructor' });
  });
});
