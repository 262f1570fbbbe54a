/**
 * `preview-smoke.yaml`, beside an agent's `manifest.yaml`: the conversations every preview of the
 * agent must hold. Read and checked whole before anything is deployed; every error names the file,
 * the line and the field.
 *
 * ```yaml
 * conversations:
 *   - name: greets
 *     timeout: 60s            # per turn (default 60s); also allowed at the top and on a turn
 *     turns:
 *       - send: Hello
 *         expect:
 *           contains: Hello   # or a list; also not_contains, regex, json (a JSON Schema), ignore_case
 * http:                       # optional: talk to the preview's URL instead of the platform
 *   method: POST
 *   path: /chat
 *   body: {message: "{message}"}
 *   reply: /reply             # a JSON pointer into the answer
 * ```
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { parseDuration } from '../duration.js';
import { InputError } from '../errors.js';
import type { ValidateFunction } from 'ajv';
import { compileReplySchema, type Expectation } from './expect.js';

export const SMOKE_FILE_NAMES = ['preview-smoke.yaml', 'preview-smoke.yml'];
export const DEFAULT_TURN_TIMEOUT_MS = 60_000;
const TURN_TIMEOUT_LIMITS = { minMs: 100, maxMs: 30 * 60_000 };
/** What a message may hold: enough for any prompt, not a file's worth. */
const MAX_MESSAGE_CHARS = 32_000;
const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'GET'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A plain HTTP conversation with a preview that has a URL. */
export interface HttpConversation {
  method: HttpMethod;
  /** Relative to the preview's URL; `{message}` and `{conversation}` are filled in (URL-encoded). */
  path: string;
  /** JSON whose strings have `{message}`/`{conversation}` filled in, or text with them filled in verbatim. */
  body?: { json: unknown } | { text: string };
  /** RFC 6901 pointer to the reply in the JSON answer; absent: the whole answer is the reply. */
  reply?: string;
}

export interface TurnScript {
  send: string;
  /** Every one must hold; none means "a non-empty reply". */
  expect: Expectation[];
  timeoutMs: number;
  line: number;
}

export interface ConversationScript {
  name: string;
  turns: TurnScript[];
  /** Talk over HTTP to the preview's URL instead of the platform's conversation API. */
  http?: HttpConversation;
  line: number;
}

export interface SmokeScript {
  /** Absolute path of the file, or the input it came from (`smoke-message`). */
  file: string;
  /** sha256 of what was read: a kept result is shown again only for the same script. */
  digest: string;
  conversations: ConversationScript[];
}

/** The file beside a manifest, when there is one. */
export async function findSmokeFile(manifestDir: string): Promise<string | undefined> {
  for (const name of SMOKE_FILE_NAMES) {
    const candidate = path.join(manifestDir, name);
    if ((await stat(candidate).catch(() => undefined))?.isFile()) return candidate;
  }
  return undefined;
}

/** Reads and checks a smoke file. */
export async function loadSmokeScript(file: string): Promise<SmokeScript> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the smoke file: ${(err as Error).message}`, { file: absolute });
  }
  return parseSmokeScript(text, absolute);
}

/** The one-turn conversation of the `smoke-message` input: it expects a non-empty reply. */
export function messageScript(message: string, source = 'smoke-message'): SmokeScript {
  const send = message.trim();
  if (!send) throw new InputError('is empty; give the message to send, e.g. Hello', { field: source });
  if (send.length > MAX_MESSAGE_CHARS) throw new InputError(`is ${send.length} characters; keep it under ${MAX_MESSAGE_CHARS}`, { field: source });
  return {
    file: source,
    digest: digestOf(`${source}\n${send}`),
    conversations: [{ name: source, line: 0, turns: [{ send, expect: [], timeoutMs: DEFAULT_TURN_TIMEOUT_MS, line: 0 }] }],
  };
}

/** Parses a smoke file's text, compiling its JSON Schemas; `file` names it in errors. */
export async function parseSmokeScript(text: string, file: string): Promise<SmokeScript> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const reader = new SmokeReader(file, lines);
  const [first] = doc.errors;
  if (first) {
    const line = first.linePos?.[0]?.line ?? lines.linePos(first.pos[0]).line;
    throw new InputError(`invalid YAML: ${first.message.split('\n')[0]}; fix the syntax on that line`, { file, line });
  }
  const root = doc.contents;
  if (!isMap(root)) throw new InputError('must be a YAML mapping with a conversations list', { file, line: 1 });
  const fields = reader.fields(root, '', ['conversations', 'timeout', 'http']);
  const fileTimeout = reader.duration(fields.get('timeout'), 'timeout') ?? DEFAULT_TURN_TIMEOUT_MS;
  const http = fields.get('http') ? reader.http(fields.get('http')!, 'http') : undefined;
  const list = fields.get('conversations');
  if (!list || !isSeq(list.value) || list.value.items.length === 0) {
    reader.fail('must be a non-empty list of conversations, each with a name and turns', list?.value ?? root, 'conversations');
  }
  const names = new Map<string, number>();
  const conversations = (list!.value as { items: unknown[] }).items.map((item, index) => {
    const conversation = reader.conversation(item as Node, `conversations[${index}]`, fileTimeout, http);
    const earlier = names.get(conversation.name);
    if (earlier !== undefined) {
      reader.fail(`"${conversation.name}" is also the name of conversations[${earlier}]; names must be unique`, item as Node, `conversations[${index}].name`);
    }
    names.set(conversation.name, index);
    return conversation;
  });
  await reader.compileSchemas();
  return { file, digest: digestOf(text), conversations };
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Field {
  key: Scalar;
  value: Node | null;
}

/** Walks the parsed file, knowing the line of every node, and refuses what it does not know. */
class SmokeReader {
  /** JSON Schemas met while walking, compiled at the end (Ajv loads only when there is one). */
  private readonly schemas: { expectations: Expectation[]; index: number; schema: unknown; node: Node; at: string }[] = [];

  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  async compileSchemas(): Promise<void> {
    for (const pending of this.schemas) {
      try {
        pending.expectations[pending.index] = await compileReplySchema(pending.schema);
      } catch (err) {
        this.fail(`is not a JSON Schema we can check: ${(err as Error).message}`, pending.node, pending.at);
      }
    }
  }

  lineOf(node: unknown): number {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lines.linePos(range[0]).line : 1;
  }

  fail(message: string, node: unknown, field: string): never {
    throw new InputError(message, { file: this.file, line: this.lineOf(node), field });
  }

  /** The fields of a mapping; an unknown key is refused at its own line. */
  fields(node: unknown, at: string, known: string[]): Map<string, Field> {
    if (!isMap(node)) this.fail(`must be a mapping with ${known.join(', ')}`, node, at || '(top level)');
    const found = new Map<string, Field>();
    for (const pair of (node as YAMLMap).items as Pair<unknown, unknown>[]) {
      const key = pair.key;
      const name = isScalar(key) ? String(key.value) : undefined;
      const field = at ? `${at}.${name ?? '?'}` : (name ?? '?');
      if (name === undefined || !known.includes(name)) {
        this.fail(`unknown key${name === undefined ? '' : ` "${name}"`}; allowed here: ${known.join(', ')}`, key, field);
      }
      found.set(name, { key: key as Scalar, value: (pair.value as Node | null) ?? null });
    }
    return found;
  }

  /** A required or optional scalar as text. */
  text(field: Field | undefined, at: string, options: { required?: boolean; what?: string; parent?: Node } = {}): string | undefined {
    const value = field?.value;
    if (value === undefined || value === null || (isScalar(value) && (value.value === null || value.value === ''))) {
      if (options.required) this.fail(`missing; give ${options.what ?? 'a value'}`, field?.key ?? options.parent ?? null, at);
      return undefined;
    }
    if (!isScalar(value) || typeof value.value === 'object') this.fail(`must be text, not ${describeNode(value)}`, value, at);
    return String((value as Scalar).value);
  }

  duration(field: Field | undefined, at: string): number | undefined {
    const text = this.text(field, at);
    if (text === undefined) return undefined;
    try {
      return parseDuration(text, at, TURN_TIMEOUT_LIMITS);
    } catch (err) {
      this.fail((err as InputError).message.replace(/^.*?field "[^"]*": /, ''), field!.value, at);
    }
  }

  conversation(node: Node, at: string, defaultTimeout: number, fileHttp: HttpConversation | undefined): ConversationScript {
    const fields = this.fields(node, at, ['name', 'turns', 'timeout', 'http']);
    const name = this.text(fields.get('name'), `${at}.name`, { required: true, what: 'a name for the conversation, e.g. greets', parent: node })!;
    if (name.length > 100 || /[\r\n]/.test(name)) this.fail('must be one line of at most 100 characters', fields.get('name')!.value, `${at}.name`);
    const timeout = this.duration(fields.get('timeout'), `${at}.timeout`) ?? defaultTimeout;
    const http = fields.get('http') ? this.http(fields.get('http')!, `${at}.http`) : fileHttp;
    const turns = fields.get('turns');
    if (!turns || !isSeq(turns.value) || turns.value.items.length === 0) {
      this.fail('must be a non-empty list of turns, each with send', turns?.value ?? node, `${at}.turns`);
    }
    return {
      name,
      http,
      line: this.lineOf(node),
      turns: (turns.value as { items: unknown[] }).items.map((item, index) => this.turn(item as Node, `${at}.turns[${index}]`, timeout)),
    };
  }

  turn(node: Node, at: string, defaultTimeout: number): TurnScript {
    const fields = this.fields(node, at, ['send', 'expect', 'timeout']);
    const send = this.text(fields.get('send'), `${at}.send`, { required: true, what: 'the message to send', parent: node })!;
    if (send.length > MAX_MESSAGE_CHARS) this.fail(`is ${send.length} characters; keep a message under ${MAX_MESSAGE_CHARS}`, fields.get('send')!.value, `${at}.send`);
    const expectField = fields.get('expect');
    return {
      send,
      expect: expectField?.value ? this.expectations(expectField.value, `${at}.expect`) : [],
      timeoutMs: this.duration(fields.get('timeout'), `${at}.timeout`) ?? defaultTimeout,
      line: this.lineOf(node),
    };
  }

  expectations(node: Node, at: string): Expectation[] {
    const fields = this.fields(node, at, ['contains', 'not_contains', 'regex', 'json', 'ignore_case']);
    const ignoreCase = this.boolean(fields.get('ignore_case'), `${at}.ignore_case`) ?? false;
    const expectations: Expectation[] = [];
    for (const kind of ['contains', 'not_contains'] as const) {
      for (const text of this.texts(fields.get(kind), `${at}.${kind}`)) expectations.push({ kind, text, ignoreCase });
    }
    for (const source of this.texts(fields.get('regex'), `${at}.regex`)) {
      try {
        expectations.push({ kind: 'regex', source, pattern: new RegExp(source, ignoreCase ? 'i' : '') });
      } catch (err) {
        this.fail(`is not a valid regular expression: ${(err as Error).message}`, fields.get('regex')!.value, `${at}.regex`);
      }
    }
    const json = fields.get('json');
    if (json) {
      if (!isMap(json.value)) this.fail('must be a JSON Schema written as a mapping, e.g. {type: object, required: [answer]}', json.value ?? json.key, `${at}.json`);
      const schema = (json.value as YAMLMap).toJSON() as unknown;
      // A placeholder until compileSchemas replaces it.
      this.schemas.push({ expectations, index: expectations.length, schema, node: json.value as Node, at: `${at}.json` });
      expectations.push({ kind: 'json', schema, validate: (() => false) as unknown as ValidateFunction });
    }
    if (!expectations.length) this.fail('names no expectation; use contains, not_contains, regex or json (or drop expect to ask for any non-empty reply)', node, at);
    return expectations;
  }

  /** A text or a list of texts. */
  texts(field: Field | undefined, at: string): string[] {
    if (!field) return [];
    if (isSeq(field.value)) {
      if (!field.value.items.length) this.fail('is an empty list', field.value, at);
      return field.value.items.map((item, index) => this.text({ key: field.key, value: item as Node }, `${at}[${index}]`, { required: true })!);
    }
    return [this.text(field, at, { required: true, what: 'the text, or a list of texts' })!];
  }

  boolean(field: Field | undefined, at: string): boolean | undefined {
    if (!field) return undefined;
    const value = isScalar(field.value) ? field.value.value : undefined;
    if (typeof value !== 'boolean') this.fail('must be true or false', field.value ?? field.key, at);
    return value;
  }

  http(field: Field, at: string): HttpConversation {
    const fields = this.fields(field.value, at, ['method', 'path', 'body', 'reply']);
    const methodText = (this.text(fields.get('method'), `${at}.method`) ?? 'POST').toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(methodText))
      this.fail(`"${methodText}" is not one of ${HTTP_METHODS.join(', ')}`, fields.get('method')!.value, `${at}.method`);
    const method = methodText as HttpMethod;
    const pathText = this.text(fields.get('path'), `${at}.path`, { required: true, what: 'the path under the preview URL, e.g. /chat', parent: field.value ?? undefined })!;
    if (!pathText.startsWith('/') || pathText.startsWith('//') || /[\s#]/.test(pathText)) {
      this.fail(`"${pathText}" must start with one "/" and hold no spaces or "#"`, fields.get('path')!.value, `${at}.path`);
    }
    const body = this.httpBody(fields.get('body'), `${at}.body`, method);
    if (!pathText.includes('{message}') && !JSON.stringify(body ?? '').includes('{message}')) {
      this.fail('puts the message nowhere: write {message} in the body (or, for GET, in the path)', field.value, at);
    }
    const reply = this.text(fields.get('reply'), `${at}.reply`);
    if (reply !== undefined && reply !== '' && !reply.startsWith('/')) {
      this.fail(`"${reply}" is not a JSON pointer; write it like /reply or /choices/0/message/content`, fields.get('reply')!.value, `${at}.reply`);
    }
    return { method, path: pathText, body, reply };
  }

  httpBody(field: Field | undefined, at: string, method: HttpMethod): HttpConversation['body'] {
    if (!field) return method === 'GET' ? undefined : { json: { message: '{message}' } };
    if (method === 'GET') this.fail('a GET sends no body; put {message} in the path', field.key, at);
    if (isMap(field.value) || isSeq(field.value)) return { json: (field.value as YAMLMap).toJSON() };
    return { text: this.text(field, at, { required: true, what: 'a JSON mapping or a text template with {message}' })! };
  }
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  return 'this';
}
