/**
 * What a reply must satisfy, and whether it does. A JSON Schema is checked by Ajv (draft-07, or
 * 2020-12 when the schema's `$schema` says so) with `strictSchema`, so that a misspelt keyword is
 * refused when the file is read rather than silently ignored; a schema may leave out `type` where
 * JSON Schema allows it (`strictTypes` off), and Ajv never prints warnings of its own (`logger: false`).
 */
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { FormatsPlugin } from 'ajv-formats';

export type Expectation =
  | { kind: 'contains' | 'not_contains'; text: string; ignoreCase: boolean }
  | { kind: 'regex'; source: string; pattern: RegExp }
  | { kind: 'json'; schema: unknown; validate: ValidateFunction };

/** One expectation checked against one reply. */
export interface CheckResult {
  /** The expectation in words: `contains "Hello"`. */
  expectation: string;
  passed: boolean;
  /** Why it failed: `the reply does not contain "Hello"`, `reply/answer must be string`. */
  detail?: string;
}

const OPTIONS = { allErrors: true, strictSchema: true, strictNumbers: true, strictTypes: false, strictTuples: false, strictRequired: false, logger: false } as const;

let draft7: Promise<Ajv> | undefined;
let draft2020: Promise<Ajv2020> | undefined;

/**
 * Ajv is loaded the first time a schema is compiled, not when the action starts: most runs have no
 * `json` expectation, and evaluating Ajv cost every run of the action bundle tens of milliseconds.
 */
async function addFormats<T extends Ajv | Ajv2020>(ajv: T): Promise<T> {
  const formats = await import('ajv-formats');
  // CommonJS whose function is both `module.exports` and `exports.default`; Node's ESM interop hands
  // over the former, a bundler the latter.
  const plugin = ((formats.default as unknown as { default?: FormatsPlugin }).default ?? formats.default) as FormatsPlugin;
  return plugin(ajv as Ajv) as unknown as T;
}

function validatorFor(schema: unknown): Promise<Ajv | Ajv2020> {
  const declared = typeof (schema as { $schema?: unknown })?.$schema === 'string' ? String((schema as { $schema: string }).$schema) : '';
  if (/2020-12/.test(declared)) {
    draft2020 ??= import('ajv/dist/2020.js').then(({ Ajv2020 }) => addFormats(new Ajv2020(OPTIONS)));
    return draft2020;
  }
  draft7 ??= import('ajv').then(({ Ajv }) => addFormats(new Ajv(OPTIONS)));
  return draft7;
}

/** Compiles a schema once, when the file is read; throws Ajv's own words when it is not a schema Ajv can check. */
export async function compileReplySchema(schema: unknown): Promise<Expectation> {
  return { kind: 'json', schema, validate: (await validatorFor(schema)).compile(schema as object) };
}

/** A check of data we read back (a hidden record in a comment) against the shape we write. */
export async function compileShapeCheck(schema: object): Promise<(value: unknown) => boolean> {
  const validate = (await validatorFor(schema)).compile(schema);
  return (value) => validate(value) as boolean;
}

/** Every expectation against the reply; none at all asks for a non-empty reply. */
export function checkReply(reply: string, expectations: Expectation[]): CheckResult[] {
  if (!expectations.length) {
    const passed = reply.trim() !== '';
    return [{ expectation: 'a non-empty reply', passed, detail: passed ? undefined : 'the reply is empty' }];
  }
  return expectations.map((expectation) => checkOne(reply, expectation));
}

export function describeExpectation(expectation: Expectation): string {
  switch (expectation.kind) {
    case 'contains':
    case 'not_contains':
      return `${expectation.kind} ${JSON.stringify(expectation.text)}${expectation.ignoreCase ? ' (ignoring case)' : ''}`;
    case 'regex':
      return `regex /${expectation.source}/${expectation.pattern.flags}`;
    case 'json':
      return 'json (matches the schema)';
  }
}

function checkOne(reply: string, expectation: Expectation): CheckResult {
  const described = describeExpectation(expectation);
  switch (expectation.kind) {
    case 'contains':
    case 'not_contains': {
      const found = expectation.ignoreCase ? reply.toLowerCase().includes(expectation.text.toLowerCase()) : reply.includes(expectation.text);
      const passed = expectation.kind === 'contains' ? found : !found;
      return { expectation: described, passed, detail: passed ? undefined : `the reply ${found ? 'contains' : 'does not contain'} ${JSON.stringify(expectation.text)}` };
    }
    case 'regex': {
      const passed = expectation.pattern.test(reply);
      return { expectation: described, passed, detail: passed ? undefined : `the reply does not match /${expectation.source}/${expectation.pattern.flags}` };
    }
    case 'json': {
      const parsed = parseJsonReply(reply);
      if ('error' in parsed) return { expectation: described, passed: false, detail: `the reply is not JSON (${parsed.error})` };
      const passed = expectation.validate(parsed.value) as boolean;
      return { expectation: described, passed, detail: passed ? undefined : describeSchemaErrors(expectation.validate.errors ?? []) };
    }
  }
}

/**
 * The reply as JSON: the whole reply, or the one fenced code block it consists of (models often wrap
 * JSON in ```json fences). Nothing else is dug out of prose: a reply with JSON in the middle of a
 * sentence is not a JSON reply.
 */
export function parseJsonReply(reply: string): { value: unknown } | { error: string } {
  const fenced = /^\s*(`{3,}|~{3,})[^\n`]*\n([\s\S]*?)\n\s*\1\s*$/.exec(reply);
  const text = fenced ? fenced[2] : reply;
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function describeSchemaErrors(errors: ErrorObject[]): string {
  const shown = errors.slice(0, 5).map((error) => `reply${error.instancePath} ${error.message ?? 'is invalid'}`);
  return shown.join('; ') + (errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '');
}
