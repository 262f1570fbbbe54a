import { parseSmokeScript } from '../../../src/conversation/script.js';
import { checkReply, parseJsonReply } from '../../../src/conversation/expect.js';

/** The expectations of a one-turn file whose `expect` is this YAML flow mapping. */
async function expectations(flow: string) {
  return (await parseSmokeScript(`conversations: [{name: a, turns: [{send: hi, expect: ${flow}}]}]`, 'preview-smoke.yaml')).conversations[0].turns[0].expect;
}

async function verdicts(reply: string, flow: string): Promise<boolean[]> {
  return checkReply(reply, await expectations(flow)).map((check) => check.passed);
}

describe('expectations', () => {
  it('contains and not_contains, each text or list, with or without case', async () => {
    expect(await verdicts('Hello, world', '{contains: Hello}')).toEqual([true]);
    expect(await verdicts('Hello, world', '{contains: hello}')).toEqual([false]);
    expect(await verdicts('Hello, world', '{contains: hello, ignore_case: true}')).toEqual([true]);
    expect(await verdicts('Hello, world', '{contains: [Hello, moon]}')).toEqual([true, false]);
    expect(await verdicts('Hello, world', '{not_contains: [error, World], ignore_case: true}')).toEqual([true, false]);
    const [check] = checkReply('Hi', await expectations('{contains: Hello}'));
    expect(check).toEqual({ expectation: 'contains "Hello"', passed: false, detail: 'the reply does not contain "Hello"' });
    const [negative] = checkReply('an error', await expectations('{not_contains: error}'));
    expect(negative.detail).toBe('the reply contains "error"');
  });

  it('regex, with ignore_case as its flag', async () => {
    expect(await verdicts('Order #123 shipped', '{regex: "#\\\\d+ shipped$"}')).toEqual([true]);
    expect(await verdicts('ORDER', '{regex: "^order$"}')).toEqual([false]);
    expect(await verdicts('ORDER', '{regex: "^order$", ignore_case: true}')).toEqual([true]);
    expect(checkReply('x', await expectations('{regex: "^y"}'))[0]).toMatchObject({ expectation: 'regex /^y/', detail: 'the reply does not match /^y/' });
  });

  it('json: the reply (or the one fenced block it is) must satisfy the schema', async () => {
    const schema = '{json: {type: object, required: [answer, confidence], properties: {answer: {type: string}, confidence: {type: number, minimum: 0, maximum: 1}}}}';
    expect(await verdicts('{"answer": "42", "confidence": 0.9}', schema)).toEqual([true]);
    expect(await verdicts('```json\n{"answer": "42", "confidence": 0.9}\n```', schema)).toEqual([true]);
    expect(await verdicts('Sure! {"answer": "42", "confidence": 0.9}', schema)).toEqual([false]);
    const [wrong] = checkReply('{"answer": 42, "confidence": 2}', await expectations(schema));
    expect(wrong.passed).toBe(false);
    expect(wrong.detail).toBe('reply/answer must be string; reply/confidence must be <= 1');
    const [missing] = checkReply('{}', await expectations(schema));
    expect(missing.detail).toMatch(/reply must have required property 'answer'; reply must have required property 'confidence'/);
    expect(checkReply('not json', await expectations(schema))[0].detail).toMatch(/^the reply is not JSON \(/);
  });

  it('json: formats are checked, and a 2020-12 schema is read as 2020-12', async () => {
    expect(await verdicts('{"at": "2026-01-02T03:04:05Z"}', '{json: {properties: {at: {type: string, format: date-time}}}}')).toEqual([true]);
    expect(await verdicts('{"at": "yesterday"}', '{json: {properties: {at: {type: string, format: date-time}}}}')).toEqual([false]);
    const tuple = '{json: {$schema: "https://json-schema.org/draft/2020-12/schema", type: array, prefixItems: [{type: string}, {type: integer}], items: false}}';
    expect(await verdicts('["a", 1]', tuple)).toEqual([true]);
    expect(await verdicts('["a", 1, 2]', tuple)).toEqual([false]);
  });

  it('parses a reply as JSON only when it is JSON or one fenced block', () => {
    expect(parseJsonReply('[1, 2]')).toEqual({ value: [1, 2] });
    expect(parseJsonReply('~~~\n{"a": 1}\n~~~')).toEqual({ value: { a: 1 } });
    expect('error' in parseJsonReply('```json\n{"a": 1}\n```\nand more')).toBe(true);
  });
});
