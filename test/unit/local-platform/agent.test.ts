import {
  AGENT_DIRECTIVES,
  AgentCode,
  agentCodeDirective,
  agentMessageDirective,
  answerTurn,
  DEFAULT_FAILURE,
  directivesInCode,
  WRONG_REPLY,
} from '../../../src/local-platform/agent.js';

const turn = (message: string, extra: Partial<{ turn: number; previous: string }> = {}) => ({ agentName: 'hello-agent', message, turn: 1, previous: '', ...extra });

describe('the local agent', () => {
  it('greets by default, quoting the message without its directives', () => {
    expect(answerTurn(new AgentCode(), turn('Hello  [local-platform: slow 0s] there'))).toEqual({
      kind: 'reply',
      text: 'Hello, Hello there! This reply comes from hello-agent.',
      delayMs: 0,
    });
  });

  it('answers with the reply template its code declares, so changing the code changes the answer', () => {
    const code = new AgentCode(directivesInCode(`import x\n    ${agentCodeDirective(AGENT_DIRECTIVES.reply, '#{turn} {agent} after "{previous}": {message}')}\n`));
    expect(answerTurn(code, turn('Hi', { turn: 2, previous: 'Hey' }))).toMatchObject({ text: '#2 hello-agent after "Hey": Hi' });
  });

  it('reads only whole directive lines of known names, the first of each name', () => {
    const text = [
      '# local-platform: reply first {message}',
      'x = 1  # local-platform: wrong',
      '# local-platform: reply second',
      '# local-platform: sloww 2s',
      '#local-platform:   slow   2s  ',
    ].join('\n');
    expect(directivesInCode(text)).toEqual([
      { name: 'reply', argument: 'first {message}' },
      { name: 'reply', argument: 'second' },
      { name: 'slow', argument: '2s' },
    ]);
    expect(answerTurn(new AgentCode(directivesInCode(text)), turn('A'))).toEqual({ kind: 'reply', text: 'first A', delayMs: 2000 });
  });

  it('is slow, wrong, failing or silent as the code or the message says; the message wins', () => {
    const code = new AgentCode([{ name: 'slow', argument: '1s' }, { name: 'wrong' }]);
    expect(answerTurn(code, turn('Hi'))).toEqual({ kind: 'reply', text: WRONG_REPLY, delayMs: 1000 });
    expect(answerTurn(code, turn(`Hi ${agentMessageDirective(AGENT_DIRECTIVES.slow, '250ms')}`))).toMatchObject({ delayMs: 250 });
    expect(answerTurn(code, turn(`Hi ${agentMessageDirective(AGENT_DIRECTIVES.fail)}`))).toEqual({ kind: 'fail', message: DEFAULT_FAILURE, delayMs: 1000 });
    expect(answerTurn(new AgentCode(), turn('[local-platform: fail quota exceeded]'))).toEqual({ kind: 'fail', message: 'quota exceeded', delayMs: 0 });
    expect(answerTurn(new AgentCode(), turn('[local-platform: silent]'))).toEqual({ kind: 'silent', delayMs: 0 });
  });

  it('takes code-only directives from the code alone, and fails clearly on a bad duration', () => {
    expect(answerTurn(new AgentCode(), turn('[local-platform: reply Gotcha]'))).toMatchObject({ kind: 'reply', text: 'Hello, ! This reply comes from hello-agent.' });
    expect(answerTurn(new AgentCode(), turn('[local-platform: slow soon]'))).toEqual({
      kind: 'fail',
      message: 'local-platform: "slow" needs a duration such as 2s or 500ms, not "soon"',
      delayMs: 0,
    });
  });
});
