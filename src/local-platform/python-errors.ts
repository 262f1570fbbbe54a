import type { Reply } from './http.js';

/**
 * Error bodies of the Agentex server (a FastAPI app), rendered as it renders them, so that the
 * local platform's Agentex routes fail in the real shapes. Sources: scaleapi/scale-agentex@304f014
 * `agentex/src/api/app.py` (`format_error_response` → `{message, code, data: null}` for
 * GenericException/ClientError, ItemDoesNotExist and HTTPException; `validation_exception_handler` →
 * 422 `{status_code: 10422, message: str(exc) with newlines flattened, data: null}`; any other
 * exception → 500 "Internal Server Error. Class: ... Exception: ..."). The wording of validation
 * messages follows pydantic v2 and FastAPI's `ValidationException.__str__`; it is approximate
 * (the endpoint context FastAPI appends in newer versions is left out), the shape is exact.
 */

/** One validation error as pydantic reports it (FastAPI's `exc.errors()` items). */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** Python source text to print as is inside a repr (`ValueError('...')`). */
export class PythonExpression {
  constructor(readonly text: string) {}
}

/** `{message, code, data: null}` with that status: how the server answers a ClientError, ItemDoesNotExist or HTTPException. */
export function agentexError(status: number, message: string): Reply {
  return { status, body: { message, code: status, data: null } };
}

/** The 422 the server answers for a request that fails validation. */
export function validationFailure(issues: ValidationIssue[]): Reply {
  const lines = issues.map((issue) => `  ${pythonRepr(issueDict(issue))}`).join('\n');
  const text = `${issues.length} validation error${issues.length === 1 ? '' : 's'}:\n${lines}`;
  // `f"{exc}".replace("\n", " ").replace("   ", " ")` (app.py, validation_exception_handler).
  const message = text.split('\n').join(' ').split('   ').join(' ');
  return { status: 422, body: { status_code: 10422, message, data: null } };
}

/** The 500 the server answers for an exception no handler knows (`handle_unexpected`). */
export function unexpectedFailure(exceptionClass: string, message: string): Reply {
  return agentexError(500, `Internal Server Error. Class: <class '${exceptionClass}'>. Exception: ${message}`);
}

/** A pydantic `ValidationError`'s text, as a validator that re-raises it shows it inside a `value_error`. */
export function pydanticErrorText(model: string, issues: ValidationIssue[]): string {
  const parts = issues.map((issue) => {
    const detail = `  ${issue.msg} [type=${issue.type}, input_value=${pythonRepr(issue.input)}, input_type=${pythonType(issue.input)}]`;
    return issue.loc.length ? `${issue.loc.join('.')}\n${detail}` : detail;
  });
  return `${issues.length} validation error${issues.length === 1 ? '' : 's'} for ${model}\n${parts.join('\n')}`;
}

/** A `value_error` issue carrying a message, as pydantic wraps a ValueError raised in a validator. */
export function valueError(loc: (string | number)[], message: string, input: unknown): ValidationIssue {
  return { type: 'value_error', loc, msg: `Value error, ${message}`, input, ctx: { error: new PythonExpression(`ValueError(${pythonRepr(message)})`) } };
}

function issueDict(issue: ValidationIssue): Record<string, unknown> {
  const dict: Record<string, unknown> = { type: issue.type, loc: new PythonTuple(issue.loc), msg: issue.msg, input: issue.input };
  if (issue.ctx) dict.ctx = issue.ctx;
  return dict;
}

class PythonTuple {
  constructor(readonly items: unknown[]) {}
}

/** The name of a JSON value's Python type. */
export function pythonType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** Python's `str()` of a JSON value: strings as they are, everything else as its repr. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

/** Python's `repr()` of a JSON value (hand-written: no library renders Python literals, and it is a few lines). */
export function pythonRepr(value: unknown): string {
  if (value instanceof PythonExpression) return value.text;
  if (value instanceof PythonTuple) return value.items.length === 1 ? `(${pythonRepr(value.items[0])},)` : `(${value.items.map(pythonRepr).join(', ')})`;
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => `${pythonString(key)}: ${pythonRepr(item)}`);
  return `{${entries.join(', ')}}`;
}

function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = [...text]
    .map((char) => {
      if (char === '\\') return '\\\\';
      if (char === quote) return `\\${quote}`;
      if (char === '\n') return '\\n';
      if (char === '\r') return '\\r';
      if (char === '\t') return '\\t';
      const code = char.codePointAt(0)!;
      if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
      return char;
    })
    .join('');
  return `${quote}${escaped}${quote}`;
}
