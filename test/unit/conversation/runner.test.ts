import { ConversationError } from '../../../src/errors.js';
import { overallVerdict, runSmoke, type SmokePlatform, type SmokeRequest } from '../../../src/conversation/runner.js';
import { parseSmokeScript } from '../../../src/conversation/script.js';
import type { ConversationReply, ConversationSession, ConversationTarget, Conversations, OpenConversationOptions } from '../../../src/platforms/platform.js';
import { clearSecrets, registerSecret } from '../../../src/secrets/redact.js';

/**
 * A test-only in-memory platform conversation: each session answers with `answer(history)`, where
 * history is every message sent in that session so far; it records what it was asked.
 */
class MemoryConversations implements Conversations {
  opened: { target: ConversationTarget; options?: OpenConversationOptions }[] = [];
  closed: string[] = [];
  openNow = 0;
  mostOpen = 0;
  constructor(
    private readonly answer: (history: string[], agent: string) => Promise<string> | string,
    private readonly refuse?: (target: ConversationTarget) => Error | undefined,
  ) {}

  async open(target: ConversationTarget, options?: OpenConversationOptions): Promise<ConversationSession> {
    this.opened.push({ target, options });
    const refused = this.refuse?.(target);
    if (refused) throw refused;
    const id = `task-${this.opened.length}`;
    const history: string[] = [];
    this.openNow++;
    this.mostOpen = Math.max(this.mostOpen, this.openNow);
    return {
      id,
      send: async (message: string): Promise<ConversationReply> => {
        history.push(message);
        return { text: await this.answer(history, target.agentName), raw: { task_id: id } };
      },
      close: async () => {
        this.openNow--;
        this.closed.push(id);
      },
    };
  }
}

async function request(agent: string, yaml: string, url?: string): Promise<SmokeRequest> {
  return {
    agent,
    script: await parseSmokeScript(yaml, `${agent}/preview-smoke.yaml`),
    target: { deployment: { id: `dep-${agent}`, phase: 'healthy', rawStatus: 'HEALTHY', events: [] }, agentName: agent, url, metadata: { commit: 'abc' } },
  };
}

const platform = (conversation?: Conversations, unsupported?: string): SmokePlatform => ({ name: 'memory', conversation, conversationUnsupported: unsupported });

const TWO_TURNS = `
conversations:
  - name: remembers
    turns:
      - send: My name is Ada
        expect: {contains: Ada}
      - send: What is my name?
        expect: {contains: "2 messages"}
  - name: second
    turns:
      - send: again
`;

describe('runSmoke', () => {
  afterEach(() => clearSecrets());

  it('holds each conversation in one session, turns in order, and passes when every expectation holds', async () => {
    const memory = new MemoryConversations((history) => `${history.at(-1)} (${history.length} messages so far)`);
    const [result] = await runSmoke(platform(memory), [await request('hello', TWO_TURNS)], { readyTimeoutMs: 5000, pollIntervalMs: 50 });
    expect(result).toMatchObject({ agent: 'hello', verdict: 'passed', deploymentId: 'dep-hello', turns: { passed: 3, total: 3 } });
    expect(result.conversations.map((conversation) => [conversation.name, conversation.sessionId, conversation.verdict])).toEqual([
      ['remembers', 'task-1', 'passed'],
      ['second', 'task-2', 'passed'],
    ]);
    // The second turn of the first conversation saw the first: one session per conversation.
    expect(result.conversations[0].turns[1].reply).toBe('What is my name? (2 messages so far)');
    expect(result.conversations[1].turns[0].reply).toBe('again (1 messages so far)');
    expect(result.conversations[0].turns[0]).toMatchObject({ raw: { task_id: 'task-1' }, checks: [{ expectation: 'contains "Ada"', passed: true }] });
    expect(result.latencyMs).toBeCloseTo(result.conversations.flatMap((c) => c.turns).reduce((sum, turn) => sum + turn.latencyMs!, 0));
    expect(memory.closed).toEqual(['task-1', 'task-2']);
    expect(memory.opened[0].options).toMatchObject({ readyTimeoutMs: 5000, pollIntervalMs: 50 });
    expect(memory.opened[0].target.metadata).toEqual({ commit: 'abc' });
  });

  it('goes on after a failed expectation, but sends nothing more in a conversation after a turn without a reply', async () => {
    const memory = new MemoryConversations((history) => {
      if (history.at(-1) === 'boom') throw new ConversationError('Internal error: agent crashed', -32603);
      return 'nope';
    });
    const [result] = await runSmoke(platform(memory), [
      await request(
        'hello',
        'conversations:\n  - name: a\n    turns:\n      - {send: one, expect: {contains: yes}}\n      - {send: boom}\n      - {send: three}\n  - name: b\n    turns: [{send: four}]\n',
      ),
    ]);
    expect(result.verdict).toBe('failed');
    const [a, b] = result.conversations;
    expect(a.turns.map((turn) => turn.verdict)).toEqual(['failed', 'failed', 'not run']);
    expect(a.turns[0].checks).toEqual([{ expectation: 'contains "yes"', passed: false, detail: 'the reply does not contain "yes"' }]);
    expect(a.turns[1].error).toBe('Internal error: agent crashed (code -32603)');
    expect(b.verdict).toBe('passed');
    expect(result.turns).toEqual({ passed: 1, total: 4 });
  });

  it('ends a turn at its timeout even when the session ignores the signal', async () => {
    const memory = new MemoryConversations(() => new Promise<string>(() => {}));
    const [result] = await runSmoke(platform(memory), [await request('slow', 'conversations:\n  - name: a\n    timeout: 150ms\n    turns: [{send: hi}, {send: again}]\n')]);
    expect(result.conversations[0].turns.map((turn) => [turn.verdict, turn.error])).toEqual([
      ['failed', "no reply within 150ms (the turn's timeout)"],
      ['not run', undefined],
    ]);
  });

  it('a preview that cannot be opened fails its conversations, naming the deployment, and is not asked again', async () => {
    const memory = new MemoryConversations(
      () => 'hi',
      (target) => new ConversationError(`deployment ${target.deployment.id} did not become Ready within 1s (status Pending)`),
    );
    const [result] = await runSmoke(platform(memory), [await request('stuck', TWO_TURNS)]);
    expect(result.verdict).toBe('failed');
    expect(memory.opened).toHaveLength(1);
    expect(result.conversations.map((conversation) => conversation.error)).toEqual([
      "could not open a conversation with stuck's preview (deployment dep-stuck): deployment dep-stuck did not become Ready within 1s (status Pending)",
      "could not open a conversation with stuck's preview (deployment dep-stuck): deployment dep-stuck did not become Ready within 1s (status Pending)",
    ]);
    expect(result.conversations.flatMap((conversation) => conversation.turns).every((turn) => turn.verdict === 'not run')).toBe(true);
  });

  it('a preview replaced before the watch next looks, whose conversations fail at once, is replaced rather than failed; one still live fails', async () => {
    const memory = new MemoryConversations(
      () => 'hi',
      (target) => new ConversationError(`task/create on deployment ${target.deployment.id} failed with JSON-RPC error -32603: All connection attempts failed`),
    );
    const asked: string[] = [];
    // The watch's own interval would first look after a minute: only the look after the failure can see it.
    const watch = {
      everyMs: 60_000,
      gone: async (deployment: { id: string }) => {
        asked.push(deployment.id);
        return deployment.id === 'dep-old' ? 'preview dep-old became SUPERSEDED while it was talked to' : undefined;
      },
    };
    const [replaced, live] = await runSmoke(platform(memory), [await request('old', TWO_TURNS), await request('live', TWO_TURNS)], { watch });
    expect(replaced).toMatchObject({ verdict: 'replaced', reason: 'preview dep-old became SUPERSEDED while it was talked to' });
    expect(live.verdict).toBe('failed');
    expect(asked.sort()).toEqual(['dep-live', 'dep-old']);
    expect(overallVerdict([replaced.verdict, 'passed'])).toBe('passed');
  });

  it('says unsupported, with the reason, where nothing can be asked', async () => {
    const [onPlatform] = await runSmoke(platform(undefined, 'MUTX documents no way to send a deployed agent a message'), [await request('x', TWO_TURNS)]);
    expect(onPlatform).toMatchObject({ verdict: 'unsupported', reason: 'MUTX documents no way to send a deployed agent a message', turns: { passed: 0, total: 3 } });
    const [noUrl] = await runSmoke(platform(), [await request('y', 'http: {path: /chat}\nconversations: [{name: a, turns: [{send: hi}]}]\n')]);
    expect(noUrl.verdict).toBe('unsupported');
    expect(noUrl.reason).toMatch(/has no URL for the http conversation; set the preview-url input/);
    expect(overallVerdict(['passed', 'unsupported'])).toBe('unsupported');
    expect(overallVerdict(['unsupported', 'failed'])).toBe('failed');
    expect(overallVerdict([])).toBe('skipped');
  });

  it('talks to several agents in parallel, never more than maxParallel at once, and keeps their order', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const memory = new MemoryConversations(async (history, agent) => {
      if (memory.openNow >= 2) release();
      await gate;
      return `${agent}: ${history.at(-1)}`;
    });
    const agents = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const results = await runSmoke(platform(memory), await Promise.all(agents.map((agent) => request(agent, 'conversations: [{name: a, turns: [{send: hi}]}]'))), {
      maxParallel: 2,
    });
    expect(results.map((result) => result.agent)).toEqual(agents);
    expect(results.every((result) => result.verdict === 'passed')).toBe(true);
    expect(memory.mostOpen).toBe(2);
  });

  it('keeps secrets out of replies, errors and raw records', async () => {
    registerSecret('sk-live-SECRET-123456');
    const memory = new MemoryConversations(() => {
      throw new ConversationError('bad key sk-live-SECRET-123456');
    });
    const [failed] = await runSmoke(platform(memory), [await request('s', 'conversations: [{name: a, turns: [{send: "use sk-live-SECRET-123456"}]}]')]);
    expect(JSON.stringify(failed)).not.toContain('sk-live-SECRET-123456');
    expect(failed.conversations[0].turns[0]).toMatchObject({ send: 'use ***', error: 'bad key ***' });
    const echo = new MemoryConversations((history) => `you said ${history[0]}`);
    const [passed] = await runSmoke(platform(echo), [await request('s', 'conversations: [{name: a, turns: [{send: "sk-live-SECRET-123456"}]}]')]);
    expect(passed.conversations[0].turns[0].reply).toBe('you said ***');
  });
});
