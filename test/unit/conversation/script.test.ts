import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../../../src/errors.js';
import { findSmokeFile, loadSmokeScript, messageScript, parseSmokeScript } from '../../../src/conversation/script.js';
import { checkReply } from '../../../src/conversation/expect.js';
import { readFile } from 'node:fs/promises';
import { REPO_ROOT } from '../../support/agents.js';
import { codeBlocks, parseMarkdown } from '../../support/markdown.js';

const FILE = '/repo/agents/hello/preview-smoke.yaml';

async function refused(text: string): Promise<InputError> {
  try {
    await parseSmokeScript(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('the file was accepted');
}

describe('preview-smoke.yaml', () => {
  it('reads conversations, turns, expectations, timeouts and an http conversation', async () => {
    const script = await parseSmokeScript(
      [
        'timeout: 30s',
        'conversations:',
        '  - name: greets',
        '    turns:',
        '      - send: Hello',
        '        expect:',
        '          contains: [Hello, hello-agent]',
        '          not_contains: error',
        '          ignore_case: true',
        '      - send: "Answer in JSON"',
        '        timeout: 2m',
        '        expect:',
        '          regex: "^\\\\{"',
        '          json: {type: object, required: [answer], properties: {answer: {type: string}}}',
        '  - name: plain',
        '    timeout: 5s',
        '    http: {path: /chat, body: {input: {text: "{message}"}}, reply: /output/0}',
        '    turns: [{send: Hi}]',
      ].join('\n'),
      FILE,
    );
    expect(script.file).toBe(FILE);
    expect(script.digest).toMatch(/^[0-9a-f]{64}$/);
    const [greets, plain] = script.conversations;
    expect(greets.name).toBe('greets');
    expect(greets.turns.map((turn) => turn.timeoutMs)).toEqual([30_000, 120_000]);
    expect(greets.turns[0].expect.map((expectation) => expectation.kind)).toEqual(['contains', 'contains', 'not_contains']);
    expect(greets.turns[1].expect.map((expectation) => expectation.kind)).toEqual(['regex', 'json']);
    expect(greets.http).toBeUndefined();
    expect(plain.turns[0].timeoutMs).toBe(5000);
    expect(plain.http).toEqual({ method: 'POST', path: '/chat', body: { json: { input: { text: '{message}' } } }, reply: '/output/0' });
    // The same text is the same script; another text is not.
    expect((await parseSmokeScript('conversations: [{name: a, turns: [{send: x}]}]', FILE)).digest).not.toBe(script.digest);
  });

  it('defaults every turn to 60 s and an empty expectation to a non-empty reply', async () => {
    const script = await parseSmokeScript('conversations:\n  - name: greets\n    turns:\n      - send: Hello\n', FILE);
    expect(script.conversations[0].turns[0]).toMatchObject({ send: 'Hello', expect: [], timeoutMs: 60_000, line: 4 });
    expect(checkReply('', []).map((check) => check.passed)).toEqual([false]);
    expect(checkReply('hi', []).map((check) => check.passed)).toEqual([true]);
  });

  it.each([
    [
      'conversations:\n  - name: greets\n    turns:\n      - send: Hello\n        expects: {contains: Hi}\n',
      5,
      'conversations[0].turns[0].expects',
      /unknown key "expects"; allowed here: send, expect, timeout/,
    ],
    ['conversation: []\n', 1, 'conversation', /unknown key "conversation"/],
    ['conversations: []\n', 1, 'conversations', /non-empty list of conversations/],
    ['conversations:\n  - turns: [{send: hi}]\n', 2, 'conversations[0].name', /missing; give a name/],
    ['conversations:\n  - name: a\n    turns: [{send: hi}]\n  - name: a\n    turns: [{send: hi}]\n', 4, 'conversations[1].name', /also the name of conversations\[0\]/],
    ['conversations:\n  - name: a\n', 2, 'conversations[0].turns', /non-empty list of turns/],
    ['conversations:\n  - name: a\n    turns:\n      - expect: {contains: x}\n', 4, 'conversations[0].turns[0].send', /missing; give the message/],
    ['conversations:\n  - name: a\n    turns:\n      - send: [a, b]\n', 4, 'conversations[0].turns[0].send', /must be text, not a list/],
    ['conversations:\n  - name: a\n    timeout: soon\n    turns: [{send: hi}]\n', 3, 'conversations[0].timeout', /"soon" is not a duration/],
    ['conversations:\n  - name: a\n    turns:\n      - send: hi\n        timeout: 2h\n', 5, 'conversations[0].turns[0].timeout', /too long; the most allowed is 30m/],
    [
      'conversations:\n  - name: a\n    turns:\n      - send: hi\n        expect:\n          regex: "(unclosed"\n',
      6,
      'conversations[0].turns[0].expect.regex',
      /not a valid regular expression/,
    ],
    [
      'conversations:\n  - name: a\n    turns:\n      - send: hi\n        expect:\n          json: {type: object, requird: [a]}\n',
      6,
      'conversations[0].turns[0].expect.json',
      /not a JSON Schema we can check: .*requird/,
    ],
    [
      'conversations:\n  - name: a\n    turns:\n      - send: hi\n        expect:\n          json: object\n',
      6,
      'conversations[0].turns[0].expect.json',
      /must be a JSON Schema written as a mapping/,
    ],
    [
      'conversations:\n  - name: a\n    turns:\n      - send: hi\n        expect:\n          ignore_case: yes\n',
      6,
      'conversations[0].turns[0].expect.ignore_case',
      /must be true or false/,
    ],
    ['conversations:\n  - name: a\n    turns:\n      - send: hi\n        expect: {ignore_case: true}\n', 5, 'conversations[0].turns[0].expect', /names no expectation/],
    ['http:\n  path: chat\nconversations: [{name: a, turns: [{send: hi}]}]\n', 2, 'http.path', /must start with one "\/"/],
    ['http:\n  method: DELETE\n  path: /chat\nconversations: [{name: a, turns: [{send: hi}]}]\n', 2, 'http.method', /"DELETE" is not one of POST, PUT, PATCH, GET/],
    ['http:\n  path: /chat\n  body: {text: hello}\nconversations: [{name: a, turns: [{send: hi}]}]\n', 2, 'http', /puts the message nowhere/],
    ['http:\n  method: GET\n  path: /chat\n  body: "{message}"\nconversations: [{name: a, turns: [{send: hi}]}]\n', 4, 'http.body', /a GET sends no body/],
    ['http:\n  path: /chat\n  reply: reply\nconversations: [{name: a, turns: [{send: hi}]}]\n', 3, 'http.reply', /not a JSON pointer/],
    ['conversations:\n  - name: a\n    turns: [{send: hi}]\n  - name: a\n    name: b\n', 5, undefined, /invalid YAML: Map keys must be unique/],
    ['conversations: [\n', 2, undefined, /invalid YAML/],
    ['- a\n- b\n', 1, undefined, /must be a YAML mapping/],
  ])('refuses %j at line %i, field %s', async (text, line, field, message) => {
    const error = await refused(text);
    expect(error.file).toBe(FILE);
    expect(error.line).toBe(line);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${FILE}:${line}`)).toBe(true);
  });

  it('is found beside the manifest, read from disk, and a smoke-message makes a one-turn script', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ap-smoke-'));
    try {
      expect(await findSmokeFile(dir)).toBeUndefined();
      await writeFile(path.join(dir, 'preview-smoke.yml'), 'conversations: [{name: a, turns: [{send: hi, expect: {contains: x}}]}]\n');
      const file = await findSmokeFile(dir);
      expect(file).toBe(path.join(dir, 'preview-smoke.yml'));
      expect((await loadSmokeScript(file!)).conversations[0].turns[0].expect).toHaveLength(1);
      await writeFile(file!, 'conversations: [{name: a, turns: [{sned: hi}]}]\n');
      await expect(loadSmokeScript(file!)).rejects.toThrow(`${file}:1, field "conversations[0].turns[0].sned": unknown key "sned"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(messageScript('  Hello ').conversations).toEqual([{ name: 'smoke-message', line: 0, turns: [{ send: 'Hello', expect: [], timeoutMs: 60_000, line: 0 }] }]);
    expect(() => messageScript('   ')).toThrow(/field "smoke-message": is empty/);
  });

  it.each(['README.md', 'docs/conversations.md', 'examples/hello-agent/preview-smoke.yaml'])('every preview-smoke.yaml shown in %s is one the action accepts', async (file) => {
    const text = await readFile(path.join(REPO_ROOT, file), 'utf8');
    const blocks = file.endsWith('.yaml')
      ? [text]
      : codeBlocks(parseMarkdown(text), ['yaml'])
          .map((block) => block.value)
          .filter((block) => /^conversations:/m.test(block));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect((await parseSmokeScript(block, file)).conversations.length).toBeGreaterThan(0);
  });
});
