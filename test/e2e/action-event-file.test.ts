import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ACTION_BUNDLE } from '../support/runner.js';

describe('an event payload file that is not JSON', () => {
  it('fails the step with one error naming the file, not a SyntaxError stack trace from loading @actions/github', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ap-event-'));
    const eventPath = path.join(dir, 'event.json');
    const outputPath = path.join(dir, 'output');
    await writeFile(eventPath, '{"action": "opened", ');
    await writeFile(outputPath, '');
    const env = {
      PATH: process.env.PATH,
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_OUTPUT: outputPath,
      INPUT_PLATFORM: 'local',
    };
    const { code, log } = await new Promise<{ code: number; log: string }>((resolve) =>
      execFile(process.execPath, [ACTION_BUNDLE], { env, cwd: dir }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, log: stdout + stderr })),
    );
    const outputs = await readFile(outputPath, 'utf8');
    await rm(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(log).toContain(`::error::${eventPath}: the event payload is not JSON`);
    expect(log).not.toMatch(/SyntaxError|\n\s+at /);
    expect(outputs).toMatch(/status<<.*\nfailed\n/);
  });
});
