import { findDeploymentRecord, messageIds, replyOfMessageSend, turnAnswer } from '../../../src/platforms/agentex/task-messages.js';

const message = (id: string, author: string, content: string, createdAt: string, streaming: string | null = 'DONE', type = 'text') => ({
  id,
  task_id: 'task-1',
  content: { type, author, style: 'static', format: 'plain', content, attachments: null },
  streaming_status: streaming,
  created_at: createdAt,
});

describe('reading a sync reply', () => {
  it('is the agent-authored text of the message/send result, in order', () => {
    const result = [message('m1', 'agent', 'Hello', 't1'), message('m2', 'agent', 'World', 't2'), { id: 'm3', content: { type: 'data', author: 'agent', data: {} } }];
    expect(replyOfMessageSend(result)).toEqual({
      text: 'Hello\n\nWorld',
      messages: [
        { id: 'm1', text: 'Hello', createdAt: 't1' },
        { id: 'm2', text: 'World', createdAt: 't2' },
      ],
    });
  });

  it('is nothing for an empty list, user messages only, blank text or a non-list', () => {
    expect(replyOfMessageSend([])).toBeUndefined();
    expect(replyOfMessageSend([message('m1', 'user', 'Hello', 't1')])).toBeUndefined();
    expect(replyOfMessageSend([message('m1', 'agent', '   ', 't1')])).toBeUndefined();
    expect(replyOfMessageSend({ content: 'Hello' })).toBeUndefined();
  });
});

describe('deciding an async turn is answered', () => {
  const event = '2026-01-01T00:00:10.000Z';
  const before = message('welcome', 'agent', 'Welcome!', '2026-01-01T00:00:05.000Z');

  it('takes the agent text written after the event, skipping what was there before and the echo of our message', () => {
    const listing = [message('r1', 'agent', 'Hi there', '2026-01-01T00:00:11.000Z'), message('u1', 'user', 'Hi', '2026-01-01T00:00:10.000Z'), before];
    expect(turnAnswer(listing, { seenIds: new Set(['welcome']), eventCreatedAt: event })).toMatchObject({ answered: true, text: 'Hi there' });
  });

  it('does not take an agent message written before the event, even if not seen yet (a late welcome)', () => {
    expect(turnAnswer([before], { seenIds: new Set(), eventCreatedAt: event })).toMatchObject({ answered: false, text: '' });
  });

  it('waits while any agent message of the turn is IN_PROGRESS, then joins every complete one in order', () => {
    const partial = message('r2', 'agent', 'Still wri', '2026-01-01T00:00:12.000Z', 'IN_PROGRESS');
    const done = message('r1', 'agent', 'First part', '2026-01-01T00:00:11.000Z');
    expect(turnAnswer([partial, done], { seenIds: new Set(), eventCreatedAt: event })).toMatchObject({ answered: false });
    const finished = { ...partial, content: { ...partial.content, content: 'Still writing, now done' }, streaming_status: 'DONE' };
    expect(turnAnswer([finished, done], { seenIds: new Set(), eventCreatedAt: event })).toMatchObject({ answered: true, text: 'First part\n\nStill writing, now done' });
  });

  it('counts a message without streaming_status as complete, and reads naive timestamps as UTC', () => {
    const naive = message('r1', 'agent', 'Naive', '2026-01-01T00:00:10.500', null);
    expect(turnAnswer([naive], { seenIds: new Set(), eventCreatedAt: event })).toMatchObject({ answered: true, text: 'Naive' });
  });

  it('orders messages stamped alike as the newest-first listing does', () => {
    const same = '2026-01-01T00:00:11.000Z';
    expect(turnAnswer([message('b', 'agent', 'second', same), message('a', 'agent', 'first', same)], { seenIds: new Set(), eventCreatedAt: event }).text).toBe('first\n\nsecond');
  });

  it('is not answered by tool requests or empty text alone', () => {
    const tool = { id: 't', content: { type: 'tool_request', author: 'agent', name: 'x' }, streaming_status: 'DONE', created_at: '2026-01-01T00:00:11.000Z' };
    expect(turnAnswer([tool, message('e', 'agent', '', '2026-01-01T00:00:11.000Z')], { seenIds: new Set(), eventCreatedAt: event }).answered).toBe(false);
    expect(turnAnswer('not a list', { seenIds: new Set() }).answered).toBe(false);
  });

  it('lists the ids already there', () => {
    expect(messageIds([before, { content: {} }, 'junk'])).toEqual(new Set(['welcome']));
  });
});

describe('finding our deployment record', () => {
  it('matches on sgp_deploy_id only', () => {
    const records = [
      { id: 'rec-2', status: 'Pending', acp_url: null, sgp_deploy_id: 'dep-2', helm_release_name: 'a-pr-7-ffff' },
      { id: 'rec-1', status: 'Ready', acp_url: 'http://pod:8000', sgp_deploy_id: 'dep-1', helm_release_name: 'a-pr-7-eeee' },
    ];
    expect(findDeploymentRecord(records, 'dep-1')).toEqual({ id: 'rec-1', status: 'Ready', acpUrl: 'http://pod:8000', sgpDeployId: 'dep-1', helmReleaseName: 'a-pr-7-eeee' });
    expect(findDeploymentRecord(records, 'dep-2')).toMatchObject({ id: 'rec-2', status: 'Pending', acpUrl: undefined });
    expect(findDeploymentRecord(records, 'a-pr-7-eeee')).toBeUndefined();
    expect(findDeploymentRecord({ items: records }, 'dep-1')).toBeUndefined();
  });
});
