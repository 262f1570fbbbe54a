import { tmpdir } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { main, type CliIo } from '../../src/cli/main.js';

/** Every byte any CLI run in this test file wrote, for the secret search. */
export const allOutput: string[] = [];

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/**
 * Runs the CLI in-process with captured output, by default in the temporary folder (no checkout, so
 * no git remote names a repository, wherever the tests run); `cwd` runs it in a checkout.
 */
export async function runCli(argv: string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; cwd?: string; stdin?: string } = {}): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const io: CliIo = { stdout: out.stream, stderr: err.stream, env: options.env ?? {}, signal: options.signal, cwd: options.cwd ?? tmpdir() };
  // Piped input, as `printf 'Hello\n' | agent-preview chat` gives it (not a terminal).
  if (options.stdin !== undefined) io.stdin = Readable.from([options.stdin]);
  const code = await main(argv, io);
  const run = { code, stdout: out.text(), stderr: err.text() };
  allOutput.push(run.stdout, run.stderr);
  return run;
}
