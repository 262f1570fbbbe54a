import { pydanticErrorText, pythonStr, pythonType, valueError, type ValidationIssue } from './python-errors.js';

/**
 * The JSON-RPC body of `POST /agents/{agent_id}/deployments/{deployment_id}/rpc`, validated as the
 * Agentex server validates it (scaleapi/scale-agentex@304f014):
 * - `agentex/src/api/schemas/agents_rpc.py` `AgentRPCRequest`: `jsonrpc: Literal["2.0"] = "2.0"`,
 *   `method: AgentRPCMethod`, `params: AgentRPCParams`, `id: int | str | None`. Its
 *   `validate_params_based_on_method` (mode="before") builds the method's params model when both
 *   `method` and `params` are truthy: an unknown method is `ValueError("Unknown method: …")`, a
 *   params model's own ValidationError is re-raised inside it (so it surfaces as one `value_error`
 *   at `body`), and params that are not a mapping make `Model(**params)` raise a TypeError, which no
 *   handler maps (a 500).
 * - The models (`CreateTaskRequest`, `CancelTaskRequest`, `InterruptTaskRequest`,
 *   `SendMessageRequest`, `SendEventRequest`) use `src/utils/model_utils.py` `BaseModel`, whose
 *   config sets no `extra`: pydantic's default, unknown fields are ignored, not refused.
 * - `task_id` and `task_name` together: "Cannot provide both task_id and task_name - use only one".
 * - Content: `api/schemas/task_messages.py` `TaskMessageContent`, a union discriminated by `type`.
 * - Falsy params (`{}`) skip the before-validator and fall to the `AgentRPCParams` union, where `{}`
 *   matches `CreateTaskRequest` first; `domain/entities/agents_rpc.py` `from_api_request` then fails
 *   for every other method (`fromApiRequestFailure`).
 */

export const RPC_METHODS = ['event/send', 'task/create', 'message/send', 'task/cancel', 'task/interrupt'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

const MODEL_BY_METHOD: Record<RpcMethod, string> = {
  'task/create': 'CreateTaskRequest',
  'task/cancel': 'CancelTaskRequest',
  'task/interrupt': 'InterruptTaskRequest',
  'message/send': 'SendMessageRequest',
  'event/send': 'SendEventRequest',
};
const UNION_MODELS = ['CreateTaskRequest', 'CancelTaskRequest', 'InterruptTaskRequest', 'SendMessageRequest', 'SendEventRequest'];
const CONTENT_TYPES = ['text', 'reasoning', 'data', 'tool_request', 'tool_response'];

type Json = Record<string, unknown>;
type Loc = (string | number)[];

export interface RpcRequest {
  method: RpcMethod;
  params: Json;
  /** Which params model validated them (`CreateTaskRequest` for `{}`, whatever the method). */
  paramsModel: string;
}

export type RpcParse = { kind: 'ok'; request: RpcRequest } | { kind: 'invalid'; issues: ValidationIssue[] } | { kind: 'crash'; exceptionClass: string; message: string };

export function parseRpcRequest(body: unknown): RpcParse {
  if (!isObject(body))
    return { kind: 'invalid', issues: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }] };
  const { method, params } = body;
  let paramsModel: string | undefined;
  if (pythonTruthy(method) && pythonTruthy(params)) {
    paramsModel = typeof method === 'string' && Object.hasOwn(MODEL_BY_METHOD, method) ? MODEL_BY_METHOD[method as RpcMethod] : undefined;
    if (!paramsModel) return { kind: 'invalid', issues: [valueError(['body'], `Unknown method: ${pythonStr(method)}`, body)] };
    if (!isObject(params)) return { kind: 'crash', exceptionClass: 'TypeError', message: `${paramsModel}() argument after ** must be a mapping, not ${pythonType(params)}` };
    const issues = validateParams(paramsModel, params);
    if (issues.length) return { kind: 'invalid', issues: [valueError(['body'], pydanticErrorText(paramsModel, issues), body)] };
  }
  const issues = envelopeIssues(body);
  if (!paramsModel) {
    if (params === undefined) issues.push({ type: 'missing', loc: ['body', 'params'], msg: 'Field required', input: body });
    else if (isObject(params)) paramsModel = 'CreateTaskRequest';
    else
      issues.push(
        ...UNION_MODELS.map((model) => ({
          type: 'model_type',
          loc: ['body', 'params', model],
          msg: `Input should be a valid dictionary or instance of ${model}`,
          input: params,
          ctx: { class_name: model },
        })),
      );
  }
  if (issues.length) return { kind: 'invalid', issues };
  return { kind: 'ok', request: { method: method as RpcMethod, params: params as Json, paramsModel: paramsModel! } };
}

/**
 * What `AgentRPCRequestEntity.from_api_request` raises for a request that validated (the route
 * calls it after finding the deployment, outside its try, so it is a 500): params that fell to
 * `CreateTaskRequest` have no `content` for message/send and event/send, and fail the isinstance
 * check for task/cancel and task/interrupt.
 */
export function fromApiRequestFailure(request: RpcRequest): { exceptionClass: string; message: string } | undefined {
  if (request.paramsModel === MODEL_BY_METHOD[request.method]) return undefined;
  if (request.method === 'message/send' || request.method === 'event/send') {
    return { exceptionClass: 'AttributeError', message: `'${request.paramsModel}' object has no attribute 'content'` };
  }
  return { exceptionClass: 'ValueError', message: `Invalid method: ${enumName(request.method)}` };
}

/** How Python 3.12 formats a `str, Enum` member in an f-string: `AgentRPCMethod.MESSAGE_SEND`. */
export function enumName(method: RpcMethod): string {
  return `AgentRPCMethod.${method.replace('/', '_').toUpperCase()}`;
}

function envelopeIssues(body: Json): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (body.jsonrpc !== undefined && body.jsonrpc !== '2.0') {
    issues.push({ type: 'literal_error', loc: ['body', 'jsonrpc'], msg: "Input should be '2.0'", input: body.jsonrpc, ctx: { expected: "'2.0'" } });
  }
  if (body.method === undefined) issues.push({ type: 'missing', loc: ['body', 'method'], msg: 'Field required', input: body });
  else if (!RPC_METHODS.includes(body.method as RpcMethod)) {
    const expected = "'event/send', 'task/create', 'message/send', 'task/cancel' or 'task/interrupt'";
    issues.push({ type: 'enum', loc: ['body', 'method'], msg: `Input should be ${expected}`, input: body.method, ctx: { expected } });
  }
  const id = body.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'boolean' && !Number.isInteger(id)) {
    const fractional = typeof id === 'number';
    issues.push({
      type: fractional ? 'int_from_float' : 'int_type',
      loc: ['body', 'id', 'int'],
      msg: fractional ? 'Input should be a valid integer, got a number with a fractional part' : 'Input should be a valid integer',
      input: id,
    });
    issues.push({ type: 'string_type', loc: ['body', 'id', 'str'], msg: 'Input should be a valid string', input: id });
  }
  return issues;
}

function validateParams(model: string, params: Json): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (model === 'CreateTaskRequest') {
    issues.push(...optionalString(params, 'name'), ...optionalDict(params, 'params'), ...optionalDict(params, 'task_metadata'));
    return issues;
  }
  issues.push(...optionalString(params, 'task_id'), ...optionalString(params, 'task_name'));
  if (model === 'SendMessageRequest') {
    if (params.content === undefined) issues.push({ type: 'missing', loc: ['content'], msg: 'Field required', input: params });
    else issues.push(...contentIssues(params.content, ['content']));
    issues.push(...laxBool(params, 'stream'), ...optionalDict(params, 'task_params'));
  }
  if (model === 'SendEventRequest' && params.content !== undefined && params.content !== null) issues.push(...contentIssues(params.content, ['content']));
  // The model's after-validator runs only once its fields are valid.
  if (!issues.length && isPresent(params.task_id) && isPresent(params.task_name)) {
    issues.push({ ...valueError([], 'Cannot provide both task_id and task_name - use only one', params) });
  }
  return issues;
}

/** A `TaskMessageContent`: tagged by `type`, each member's fields as `task_messages.py` declares them. */
export function contentIssues(content: unknown, loc: Loc): ValidationIssue[] {
  if (!isObject(content)) return [{ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input: content }];
  const tag = content.type;
  if (tag === undefined) return [{ type: 'union_tag_not_found', loc, msg: "Unable to extract tag using discriminator 'type'", input: content, ctx: { discriminator: "'type'" } }];
  if (typeof tag !== 'string' || !CONTENT_TYPES.includes(tag)) {
    const expected = CONTENT_TYPES.map((name) => `'${name}'`).join(', ');
    return [
      {
        type: 'union_tag_invalid',
        loc,
        msg: `Input tag '${pythonStr(tag)}' found using 'type' does not match any of the expected tags: ${expected}`,
        input: content,
        ctx: { discriminator: "'type'", tag: pythonStr(tag), expected_tags: expected },
      },
    ];
  }
  const at = [...loc, tag];
  const issues = [...requiredEnum(content, 'author', ['user', 'agent'], at), ...optionalEnum(content, 'style', ['static', 'active'], at)];
  switch (tag) {
    case 'text':
      issues.push(
        ...optionalEnum(content, 'format', ['markdown', 'plain', 'code'], at),
        ...requiredString(content, 'content', at),
        ...attachmentIssues(content.attachments, [...at, 'attachments']),
      );
      break;
    case 'reasoning':
      issues.push(...stringList(content, 'summary', at, true), ...stringList(content, 'content', at, false));
      break;
    case 'data':
      issues.push(...(content.data === undefined ? [missing(content, [...at, 'data'])] : optionalDict(content, 'data', at, false)));
      break;
    case 'tool_request':
      issues.push(...requiredString(content, 'tool_call_id', at), ...requiredString(content, 'name', at));
      issues.push(...(content.arguments === undefined ? [missing(content, [...at, 'arguments'])] : optionalDict(content, 'arguments', at, false)));
      break;
    default:
      issues.push(...requiredString(content, 'tool_call_id', at), ...requiredString(content, 'name', at));
      if (!('content' in content)) issues.push(missing(content, [...at, 'content']));
      issues.push(...laxBool(content, 'is_error', at, true));
  }
  return issues;
}

function attachmentIssues(value: unknown, loc: Loc): ValidationIssue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [{ type: 'list_type', loc, msg: 'Input should be a valid list', input: value }];
  return value.flatMap((item, index) => {
    const at = [...loc, index];
    if (!isObject(item))
      return [{ type: 'model_type', loc: at, msg: 'Input should be a valid dictionary or instance of FileAttachment', input: item, ctx: { class_name: 'FileAttachment' } }];
    const issues = [...requiredString(item, 'file_id', at), ...requiredString(item, 'name', at), ...requiredString(item, 'type', at)];
    if (item.size === undefined) issues.push(missing(item, [...at, 'size']));
    else if (!Number.isInteger(item.size)) issues.push({ type: 'int_type', loc: [...at, 'size'], msg: 'Input should be a valid integer', input: item.size });
    return issues;
  });
}

function missing(container: Json, loc: Loc): ValidationIssue {
  return { type: 'missing', loc, msg: 'Field required', input: container };
}

function optionalString(container: Json, field: string, at: Loc = []): ValidationIssue[] {
  const value = container[field];
  if (value === undefined || value === null || typeof value === 'string') return [];
  return [{ type: 'string_type', loc: [...at, field], msg: 'Input should be a valid string', input: value }];
}

function requiredString(container: Json, field: string, at: Loc): ValidationIssue[] {
  if (container[field] === undefined) return [missing(container, [...at, field])];
  if (typeof container[field] !== 'string') return [{ type: 'string_type', loc: [...at, field], msg: 'Input should be a valid string', input: container[field] }];
  return [];
}

function optionalDict(container: Json, field: string, at: Loc = [], nullable = true): ValidationIssue[] {
  const value = container[field];
  if (value === undefined || (nullable && value === null) || isObject(value)) return [];
  return [{ type: 'dict_type', loc: [...at, field], msg: 'Input should be a valid dictionary', input: value }];
}

function stringList(container: Json, field: string, at: Loc, required: boolean): ValidationIssue[] {
  const value = container[field];
  if (value === undefined) return required ? [missing(container, [...at, field])] : [];
  if (value === null && !required) return [];
  if (!Array.isArray(value)) return [{ type: 'list_type', loc: [...at, field], msg: 'Input should be a valid list', input: value }];
  return value.flatMap((item, index) =>
    typeof item === 'string' ? [] : [{ type: 'string_type', loc: [...at, field, index], msg: 'Input should be a valid string', input: item }],
  );
}

function requiredEnum(container: Json, field: string, values: string[], at: Loc): ValidationIssue[] {
  return container[field] === undefined ? [missing(container, [...at, field])] : optionalEnum(container, field, values, at);
}

function optionalEnum(container: Json, field: string, values: string[], at: Loc): ValidationIssue[] {
  const value = container[field];
  if (value === undefined || values.includes(value as string)) return [];
  const expected =
    values.length === 2
      ? `'${values[0]}' or '${values[1]}'`
      : `${values
          .slice(0, -1)
          .map((name) => `'${name}'`)
          .join(', ')} or '${values.at(-1)}'`;
  return [{ type: 'enum', loc: [...at, field], msg: `Input should be ${expected}`, input: value, ctx: { expected } }];
}

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', 'off', '0']);

/** A pydantic `bool` in lax mode: booleans, 0/1 and the usual words. */
function laxBool(container: Json, field: string, at: Loc = [], nullable = false): ValidationIssue[] {
  const value = container[field];
  if (value === undefined || typeof value === 'boolean' || value === 0 || value === 1 || (nullable && value === null)) return [];
  if (typeof value === 'string' && (TRUE_WORDS.has(value.toLowerCase()) || FALSE_WORDS.has(value.toLowerCase()))) return [];
  const parsing = typeof value === 'string' || typeof value === 'number';
  return [
    {
      type: parsing ? 'bool_parsing' : 'bool_type',
      loc: [...at, field],
      msg: parsing ? 'Input should be a valid boolean, unable to interpret input' : 'Input should be a valid boolean',
      input: value,
    },
  ];
}

/** The value of a lax bool field, as pydantic reads it. */
export function boolValue(value: unknown): boolean {
  if (typeof value === 'string') return TRUE_WORDS.has(value.toLowerCase());
  return value === true || value === 1;
}

/** Python's truthiness of a JSON value: empty objects, lists and strings, 0 and null are false. */
function pythonTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
