import { AGENT_DIRECTIVES, agentCodeDirective, startLocalPlatform, UNREACHABLE_AGENT, type LocalPlatform } from '../../../src/local-platform/index.js';
import { createPlatform } from '../../../src/platforms/index.js';
import type { Platform } from '../../../src/platforms/platform.js';
import { deployPreview } from '../../support/agentex-preview.js';

/**
 * The Agentex server routes of the local platform, called as raw HTTP, against the shapes of
 * scaleapi/scale-agentex@304f014 (`agentex/src/api/app.py` error handlers, `api/routes/deployments.py`,
 * `api/schemas/agents_rpc.py`, `domain/entities/agents_rpc.py`).
 */
const KEY = 'sk-agent-server-test-key';
let local: LocalPlatform;
let platform: Platform;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 10, deployStepMs: 10 });
  platform = createPlatform({ platform: 'local', apiUrl: local.url, apiKey: KEY, retry: { minDelayMs: 1, maxDelayMs: 5 } });
});
afterEach(async () => local.close());

async function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const init: RequestInit = { method, headers: { 'x-api-key': KEY, 'content-type': contentType } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${local.url}${path}`, init);
  return { status: response.status, body: await response.json() };
}

/** A preview of this agent, its agent id and its Agentex-server deployment record. */
async function previewRecord(agent: string, options: { acpType?: string; code?: string[] } = {}) {
  const deployment = await deployPreview(platform, { agent, ...options });
  const agentRecord = (await call('GET', `/agents/name/${agent}`)).body;
  const records = (await call('GET', `/agents/${agentRecord.id}/deployments`)).body;
  const record = records.find((item: any) => item.sgp_deploy_id === deployment.id);
  return { deployment, agentId: agentRecord.id as string, record, rpcPath: `/agents/${agentRecord.id}/deployments/${record.id}/rpc` };
}

const text = (content: string, author = 'user') => ({ type: 'text', author, content });
const validation = (message: string | RegExp) => ({
  status: 422,
  body: { status_code: 10422, message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message), data: null },
});
const clientError = (status: number, message: string) => ({ status, body: { message, code: status, data: null } });
const rpcError = (message: string) => ({ status: 200, body: { jsonrpc: '2.0', result: null, error: { code: -32603, message, data: null }, id: null } });

describe('the Agentex server routes of the local platform', () => {
  it('serves the agent and its deployment records: Ready with an acp_url once healthy, newest first, in pages', async () => {
    const first = await previewRecord('record-agent');
    const second = await deployPreview(platform, { agent: 'record-agent' });
    expect(await call('GET', '/agents/name/record-agent')).toEqual({
      status: 200,
      body: expect.objectContaining({ id: first.agentId, name: 'record-agent', acp_type: 'sync', status: 'Ready', description: '', production_deployment_id: null }),
    });
    const listed = (await call('GET', `/agents/${first.agentId}/deployments`)).body;
    expect(listed.map((record: any) => record.sgp_deploy_id)).toEqual([second.id, first.deployment.id]);
    expect(first.record).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      agent_id: first.agentId,
      docker_image: expect.stringContaining('record-agent:test'),
      registration_metadata: null,
      status: 'Ready',
      acp_url: expect.stringMatching(/^http:\/\//),
      is_production: false,
      sgp_deploy_id: first.deployment.id,
      helm_release_name: first.deployment.release,
      created_at: first.deployment.createdAt,
      promoted_at: null,
      expires_at: null,
    });
    expect((await call('GET', `/agents/${first.agentId}/deployments?limit=1&page_number=2`)).body.map((record: any) => record.id)).toEqual([first.record.id]);
    expect((await call('GET', `/agents/${first.agentId}/deployments/${first.record.id}`)).body).toEqual(first.record);
  });

  it('refuses unknown agents and deployments, and bad list parameters, in the server shapes', async () => {
    const { agentId, record } = await previewRecord('lookup-agent');
    const other = await previewRecord('other-agent');
    expect(await call('GET', '/agents/name/nobody')).toEqual(clientError(404, "Item with name 'nobody' does not exist."));
    expect(await call('GET', '/agents/agent_nope/deployments')).toEqual(clientError(404, "Item with id 'agent_nope' does not exist."));
    expect(await call('GET', `/agents/${agentId}/deployments/dep-nope`)).toEqual(clientError(404, "Item with id 'dep-nope' does not exist."));
    expect(await call('GET', `/agents/${agentId}/deployments/${other.record.id}`)).toEqual(clientError(404, `Deployment ${other.record.id} not found for agent ${agentId}`));
    expect(await call('GET', `/agents/${agentId}/deployments?limit=0`)).toEqual(validation("'loc': ('query', 'limit'), 'msg': 'Input should be greater than or equal to 1'"));
    expect(await call('GET', `/agents/${agentId}/deployments?page_number=two`)).toEqual(validation("'type': 'int_parsing', 'loc': ('query', 'page_number')"));
    expect(await call('POST', `/agents/agent_nope/deployments/${record.id}/rpc`, { method: 'task/create', params: {} })).toEqual(
      clientError(404, "Item with id 'agent_nope' does not exist."),
    );
    expect(await call('POST', `/agents/${agentId}/deployments/dep-nope/rpc`, { method: 'task/create', params: {} })).toEqual(
      clientError(404, "Item with id 'dep-nope' does not exist."),
    );
    expect(await call('POST', `/agents/${agentId}/deployments/${other.record.id}/rpc`, { method: 'task/create', params: {} })).toEqual(
      clientError(404, `Deployment ${other.record.id} not found for agent ${agentId}`),
    );
    expect(await call('GET', '/messages')).toEqual(validation("'type': 'missing', 'loc': ('query', 'task_id'), 'msg': 'Field required'"));
    expect(await call('GET', '/messages?task_id=task-nope')).toEqual(clientError(404, "Item with id 'task-nope' does not exist."));
    expect(await call('GET', '/tasks/task-nope')).toEqual(clientError(404, "Item with id 'task-nope' does not exist."));
  });

  it('validates the JSON-RPC request as the server does: 422 for bad envelopes and params, 500 where the server crashes, unknown fields ignored', async () => {
    const { rpcPath } = await previewRecord('strict-agent');
    const send = (body: unknown, type?: string) => call('POST', rpcPath, body, type);
    expect(await send({ method: 'task/delete', params: { name: 'x' } })).toEqual(
      validation("{'type': 'value_error', 'loc': ('body',), 'msg': 'Value error, Unknown method: task/delete'"),
    );
    expect(await send({ method: 'task/delete' })).toEqual(
      validation(/^2 validation errors: \{'type': 'enum', 'loc': \('body', 'method'\).*'type': 'missing', 'loc': \('body', 'params'\)/),
    );
    expect(await send({ params: { name: 'x' } })).toEqual(validation("'type': 'missing', 'loc': ('body', 'method')"));
    expect(await send({ jsonrpc: '1.0', method: 'task/create', params: {} })).toEqual(validation("'loc': ('body', 'jsonrpc'), 'msg': \"Input should be '2.0'\""));
    expect(await send({ method: 'message/send', params: { content: text('Hi', 'robot') } })).toEqual(
      validation(
        "Value error, 1 validation error for SendMessageRequest\\ncontent.text.author\\n  Input should be 'user' or 'agent' [type=enum, input_value='robot', input_type=str]",
      ),
    );
    expect(await send({ method: 'message/send', params: { task_id: 't' } })).toEqual(
      validation("SendMessageRequest\\ncontent\\n  Field required [type=missing, input_value={'task_id': 't'}, input_type=dict]"),
    );
    expect(await send({ method: 'message/send', params: { content: { author: 'user', content: 'Hi' } } })).toEqual(validation("Unable to extract tag using discriminator 'type'"));
    expect(await send({ method: 'message/send', params: { task_id: 'a', task_name: 'b', content: text('Hi') } })).toEqual(
      validation('Value error, Cannot provide both task_id and task_name - use only one'),
    );
    expect(await send({ method: 'message/send', params: { content: text('Hi'), stream: 'maybe' } })).toEqual(
      validation('Input should be a valid boolean, unable to interpret input'),
    );
    expect(await send('{"method": "task/create",', 'application/json')).toEqual(validation("'type': 'json_invalid'"));
    expect(await send({ method: 'task/create', params: ['not', 'a', 'mapping'] })).toEqual(
      clientError(500, "Internal Server Error. Class: <class 'TypeError'>. Exception: CreateTaskRequest() argument after ** must be a mapping, not list"),
    );
    expect(await send({ method: 'message/send', params: {} })).toEqual(
      clientError(500, "Internal Server Error. Class: <class 'AttributeError'>. Exception: 'CreateTaskRequest' object has no attribute 'content'"),
    );
    expect(await send({ method: 'task/cancel', params: {} })).toEqual(
      clientError(500, "Internal Server Error. Class: <class 'ValueError'>. Exception: Invalid method: AgentRPCMethod.TASK_CANCEL"),
    );

    const accepted = await send({ jsonrpc: '2.0', id: 7, method: 'message/send', surplus: true, params: { content: { ...text('Hi'), mood: 'x' }, stream: false, extra: 1 } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ jsonrpc: '2.0', error: null, id: null });
    expect(accepted.body.result).toEqual([
      {
        id: expect.any(String),
        task_id: expect.any(String),
        content: { type: 'text', author: 'agent', style: 'static', format: 'plain', content: 'Hello, Hi! This reply comes from strict-agent.', attachments: null },
        streaming_status: 'DONE',
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
    const history = (await call('GET', `/messages?task_id=${accepted.body.result[0].task_id}`)).body;
    expect(history.map((message: any) => message.content)).toEqual([
      accepted.body.result[0].content,
      { type: 'text', author: 'user', style: 'static', format: 'plain', content: 'Hi', attachments: null },
    ]);
  });

  it('answers what the agent type refuses, and unknown tasks, as JSON-RPC errors with HTTP 200', async () => {
    const sync = await previewRecord('typed-sync');
    const asyncAgent = await previewRecord('typed-async', { acpType: 'async' });
    expect(await call('POST', asyncAgent.rpcPath, { method: 'message/send', params: { content: text('Hi') } })).toEqual(
      rpcError('Unsupported method: AgentRPCMethod.MESSAGE_SEND for ACP type: ACPType.ASYNC'),
    );
    expect(await call('POST', sync.rpcPath, { method: 'event/send', params: { task_name: 'x', content: text('Hi') } })).toEqual(
      rpcError('Unsupported method: AgentRPCMethod.EVENT_SEND for ACP type: ACPType.SYNC'),
    );
    expect(await call('POST', sync.rpcPath, { method: 'task/cancel', params: { task_id: 'x' } })).toEqual(
      rpcError('Unsupported method: AgentRPCMethod.TASK_CANCEL for ACP type: ACPType.SYNC'),
    );
    expect(await call('POST', sync.rpcPath, { method: 'message/send', params: { task_id: 'task-nope', content: text('Hi') } })).toEqual(
      rpcError("Item with id 'task-nope' does not exist."),
    );
    expect(await call('POST', asyncAgent.rpcPath, { method: 'event/send', params: { content: text('Hi') } })).toEqual(rpcError('Either task_id or task_name must be provided'));
    expect(await call('POST', asyncAgent.rpcPath, { method: 'event/send', params: { task_name: 'nameless', content: text('Hi') } })).toEqual(
      rpcError("Item with name 'nameless' does not exist."),
    );

    const created = await call('POST', asyncAgent.rpcPath, { method: 'task/create', params: { name: 'named-task', task_metadata: { pull_request: '7' } } });
    expect(created.body.result).toMatchObject({
      name: 'named-task',
      status: 'RUNNING',
      status_reason: 'Task created, forwarding to ACP server',
      task_metadata: { pull_request: '7' },
    });
    const again = await call('POST', asyncAgent.rpcPath, { method: 'task/create', params: { name: 'named-task', task_metadata: { pull_request: '8' } } });
    expect(again.body.result).toMatchObject({ id: created.body.result.id, task_metadata: { pull_request: '7' } });
    const event = await call('POST', asyncAgent.rpcPath, { method: 'event/send', params: { task_name: 'named-task', content: text('Hi') } });
    expect(event.body.result).toEqual({
      id: expect.any(String),
      sequence_id: 1,
      task_id: created.body.result.id,
      agent_id: asyncAgent.agentId,
      created_at: expect.any(String),
      content: expect.objectContaining({ content: 'Hi' }),
    });
  });

  it('refuses a deployment that is not Ready, and one deleted since, as the server does', async () => {
    const pending = await previewRecord('pending-agent', { code: [agentCodeDirective(AGENT_DIRECTIVES.neverReady)] });
    expect(pending.record).toMatchObject({ status: 'Pending', acp_url: null });
    expect(await call('POST', pending.rpcPath, { method: 'task/create', params: {} })).toEqual(
      clientError(400, `Deployment ${pending.record.id} does not have an ACP URL configured`),
    );

    const gone = await previewRecord('deleted-agent');
    await platform.deleteDeployment(gone.deployment.id);
    expect((await call('GET', `/agents/${gone.agentId}/deployments`)).body).toEqual([]);
    const record = (await call('GET', `/agents/${gone.agentId}/deployments/${gone.record.id}`)).body;
    expect(record).toMatchObject({ id: gone.record.id, status: 'Ready', expires_at: expect.any(String) });
    expect(await call('POST', gone.rpcPath, { method: 'message/send', params: { content: text('Hi') } })).toEqual(rpcError(UNREACHABLE_AGENT));
  });

  it('takes injected faults on its routes, in its own error shape', async () => {
    const { rpcPath } = await previewRecord('fault-agent');
    local.faults.add({ route: 'agents.deployments.rpc', status: 503 });
    expect(await call('POST', rpcPath, { method: 'task/create', params: {} })).toEqual(clientError(503, 'upstream unavailable (injected fault)'));
    expect((await call('POST', rpcPath, { method: 'task/create', params: {} })).status).toBe(200);
  });
});
