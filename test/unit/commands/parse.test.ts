import { parseCommand, splitAgent } from '../../../src/commands/parse.js';

const command = (body: string) => parseCommand(body)?.command;

describe('reading a /preview command from a comment', () => {
  it('reads each command and its arguments from the first line', () => {
    expect(command('/preview ask hello-agent What is 2 + 2?')).toEqual({ name: 'ask', text: 'hello-agent What is 2 + 2?' });
    expect(command('/preview extend 4h')).toEqual({ name: 'extend', durationMs: 4 * 3_600_000 });
    expect(command('/preview extend 1h30m')).toEqual({ name: 'extend', durationMs: 5_400_000 });
    expect(command('/preview redeploy')).toEqual({ name: 'redeploy' });
    expect(command('/preview redeploy support-bot')).toEqual({ name: 'redeploy', agent: 'support-bot' });
    expect(command('/preview destroy')).toEqual({ name: 'destroy' });
    expect(command('/preview help')).toEqual({ name: 'help' });
    expect(command('/preview')).toEqual({ name: 'help' });
    expect(command('/Preview   DESTROY  ')).toEqual({ name: 'destroy' });
    expect(parseCommand('  /preview destroy\r\nthanks!')?.line).toBe('/preview destroy');
  });

  it('reads only the first line: a command further down, quoted, in code or indented as code is text', () => {
    expect(parseCommand('Looks good.\n/preview destroy')).toBeUndefined();
    expect(parseCommand('> /preview destroy\n\nwhy did this happen?')).toBeUndefined();
    expect(parseCommand('`/preview destroy`')).toBeUndefined();
    expect(parseCommand('```\n/preview destroy\n```')).toBeUndefined();
    expect(parseCommand('    /preview destroy')).toBeUndefined();
    expect(parseCommand('<!-- /preview destroy -->')).toBeUndefined();
    expect(parseCommand('/previewdestroy')).toBeUndefined();
    expect(parseCommand('please /preview destroy')).toBeUndefined();
    // Blank lines before the first line with text do not hide it.
    expect(command('\n\n/preview help\n> /preview destroy')).toEqual({ name: 'help' });
    // The ask message is the first line only; what follows is for people.
    expect(command('/preview ask hello\nsecond line')).toEqual({ name: 'ask', text: 'hello' });
  });

  it('answers unknown commands and wrong arguments with what is wrong', () => {
    expect(command('/preview deploy')).toEqual({ name: 'unknown', word: 'deploy' });
    expect(command('/preview ask')).toMatchObject({ name: 'invalid', command: 'ask' });
    expect(command('/preview extend')).toMatchObject({ name: 'invalid', command: 'extend' });
    expect(command('/preview extend 4h please')).toMatchObject({ name: 'invalid', command: 'extend' });
    expect(command('/preview extend soon')).toMatchObject({ name: 'invalid', command: 'extend', problem: expect.stringContaining('"soon" is not a duration') });
    expect(command('/preview extend 30s')).toMatchObject({ name: 'invalid', problem: expect.stringContaining('too short') });
    expect(command('/preview extend 8d')).toMatchObject({ name: 'invalid', problem: expect.stringContaining('too long') });
    expect(command('/preview redeploy a b')).toMatchObject({ name: 'invalid', command: 'redeploy' });
    expect(command('/preview destroy everything')).toMatchObject({ name: 'invalid', command: 'destroy' });
    expect(command(`/preview ask ${'x'.repeat(40_000)}`)).toMatchObject({ name: 'invalid', command: 'ask' });
  });
});

describe('which agent an ask is for', () => {
  it('takes the first word as the agent only when it names one of the live previews and a message follows', () => {
    expect(splitAgent('hello-agent What is 2 + 2?', ['hello-agent', 'support-bot'])).toEqual({ agent: 'hello-agent', message: 'What is 2 + 2?' });
    expect(splitAgent('What is 2 + 2?', ['hello-agent'])).toEqual({ message: 'What is 2 + 2?' });
    expect(splitAgent('hello-agent', ['hello-agent'])).toEqual({ message: 'hello-agent' });
    expect(splitAgent('support-bot is this right?', ['hello-agent'])).toEqual({ message: 'support-bot is this right?' });
  });
});
