import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AGENT_DIRECTIVES, agentCodeDirective, agentMessageDirective, startLocalPlatform, type LocalPlatform } from '../../src/local-platform/index.js';
import { copyHelloAgent, removeAgentCopies, REPO_ROOT } from '../support/agents.js';

/** `agent-preview chat` and `agent-preview smoke`, the committed CLI bundle against a preview on the local platform. */
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');
const KEY = 'local-chat-key-Zx81Qp4Mv2';

let local: LocalPlatform;
const outputs: string[] = [];

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, deployStepMs: 30 });
});
afterEach(async () => {
  await local.close();
  await removeAgentCopies();
});
afterAll(() => {
  expect(outputs.filter((text) => text.includes(KEY))).toEqual([]);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI bundle; `input` is piped to its stdin (which is then not a terminal) and closed. */
function cli(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--platform', 'local', '--api-url', local.url, ...args], {
      env: { PATH: process.env.PATH, AGENT_PREVIEW_LOCAL_KEY: KEY, AGENT_PREVIEW_RETRY_DELAY: '5ms' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function deploy(agent: string, pr: number): Promise<void> {
  const run = await new Promise<Run>((resolve) =>
    execFile(
      process.execPath,
      [CLI, '--platform', 'local', '--api-url', local.url, 'deploy', '-m', agent, '--pr', String(pr), '--poll-interval', '0.1s'],
      { env: { PATH: process.env.PATH, AGENT_PREVIEW_LOCAL_KEY: KEY } },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
    ),
  );
  expect(run.code).toBe(0);
}

async function agentWith(code: string[]): Promise<string> {
  const agent = await copyHelloAgent();
  const acp = path.join(agent, 'project', 'acp.py');
  await writeFile(acp, `${code.join('\n')}\n${await readFile(acp, 'utf8')}`);
  return agent;
}

describe('agent-preview chat', () => {
  it('with piped stdin sends each line as a message of one conversation, prints each reply, and exits at the end of input', async () => {
    await deploy(await agentWith([agentCodeDirective(AGENT_DIRECTIVES.reply, '{message} (turn {turn}, after "{previous}")')]), 7);
    const run = await cli(['chat', '--pr', '7'], 'Hello\n\n\u001b]52;c;aGk=\u0007Ada \u001b[31mred\nthird');
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'hello-agent › Hello (turn 1, after "")',
      // The escape sequences the agent echoed back are stripped before they reach the terminal.
      'hello-agent › ]52;c;aGk=Ada [31mred (turn 2, after "Hello")',
      'hello-agent › third (turn 3, after "]52;c;aGk=Ada [31mred")',
      '',
    ]);
    expect(run.stderr).toMatch(/chatting with hello-agent \(preview \S+, conversation \S+\)/);
  });

  it('--json prints one JSON line per reply; a turn that fails is reported and the chat goes on, ending with exit 1', async () => {
    await deploy(await copyHelloAgent(), 7);
    const run = await cli(['--json', 'chat', '--pr', '7'], `Hello\nboom ${agentMessageDirective(AGENT_DIRECTIVES.fail, 'the model is down')}\nAda\n`);
    expect(run.code).toBe(1);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.message, line.reply, line.error])).toEqual([
      ['Hello', 'Hello, Hello! This reply comes from hello-agent.', undefined],
      ['boom [local-platform: fail the model is down]', undefined, expect.stringMatching(/JSON-RPC error -32603: the model is down$/)],
      ['Ada', 'Hello, Ada! This reply comes from hello-agent.', undefined],
    ]);
    expect(lines[0]).toMatchObject({ agent: 'hello-agent', conversation: lines[2].conversation, latencyMs: expect.any(Number) });
  });

  it('says which preview it looked for when there is none, and what to pass', async () => {
    const run = await cli(['chat', '--pr', '99'], 'Hello\n');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'error: pull request #99: no live preview labelled "pr-99" on local; previews made by the action carry the repository in their label, so pass --repo',
    );
  });
});

describe('agent-preview smoke', () => {
  it("holds the agent's preview-smoke.yaml with the PR's preview, prints the transcript and verdict; exit 1 when an expectation fails", async () => {
    const agent = await copyHelloAgent();
    await deploy(agent, 7);
    const passed = await cli(['smoke', '--pr', '7', '-m', agent]);
    expect(passed.stderr).not.toContain('error:');
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('‹ Hello, Ada! This reply comes from hello-agent.');
    expect(passed.stdout).toMatch(/✔ hello-agent: passed, 2\/2 turns · \d+\.\d s/);
    expect(passed.stdout.trim().endsWith('smoke: passed')).toBe(true);

    const wrong = await agentWith([agentCodeDirective(AGENT_DIRECTIVES.wrong)]);
    await deploy(wrong, 8);
    const failed = await cli(['--json', 'smoke', '--pr', '8', '-m', wrong]);
    expect(failed.code).toBe(1);
    const report = JSON.parse(failed.stdout);
    expect(report).toMatchObject({ schema: 'agent-preview/smoke-report@1', verdict: 'failed', platform: 'local', pullRequest: 8 });
    expect(report.agents[0].conversations[0].turns[0]).toMatchObject({ send: 'Hello', reply: 'This is a wrong answer from the local platform.', verdict: 'failed' });

    const none = await cli(['smoke', '--pr', '9', '-m', agent]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('✘ hello-agent: failed, 0/2 turns');
    expect(none.stdout).toContain('no live preview of hello-agent labelled "pr-9"');
  });
});
