// Every command the README and docs/ show in a fenced `sh` block works as written: CLI command lines
// parse against the real CLI (the program main() runs, with its actions replaced, so an unknown
// command, option or value fails as it would for a user), the README's quick-start demo really runs
// against the local platform, npm scripts exist, and the repository's files and folders named exist.
// A program this test does not know fails it, so a new kind of command is looked at before it is shown.
import { access, constants, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseShell, type ParseEntry } from 'shell-quote';
import { cliProgram, type CliIo } from '../../../src/cli/main.js';
import { REPO_ROOT } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { codeBlocks, documentationFiles } from '../../support/markdown.js';

/** Programs whose command lines are shown but not checked beyond the repository paths they name. */
const EXTERNAL_PROGRAMS = new Set(['docker', 'openssl', 'printf', 'export', 'head']);
/** npx packages other than ours, shown in docs/app.md. */
const OTHER_NPX_PACKAGES = new Set(['probot', 'smee-client']);
/** The README quick start's command lines that are run for real (cheap: the embedded local platform). */
const RUN_FOR_REAL = new Set(['npx agent-preview demo']);

interface Shown {
  where: string;
  words: string[];
  text: string;
}

/** Each simple command of a block (split at &&, ||, ;, |), without comments and leading VAR=value assignments. */
function commandsOf(block: string, where: string): Shown[] {
  const shown: Shown[] = [];
  for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    let words: string[] = [];
    const flush = () => {
      while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift();
      if (words.length) shown.push({ where, words, text: line.replace(/\s+#.*$/, '').trim() });
      words = [];
    };
    // Variables stay as written ($HOME), as the reader sees them.
    for (const entry of parseShell(line, (name) => `$${name}`) as ParseEntry[]) {
      if (typeof entry === 'string') words.push(entry);
      else if ('op' in entry && entry.op === 'glob') words.push(entry.pattern);
      else if ('op' in entry) flush();
    }
    flush();
  }
  return shown;
}

/** Why a CLI command line does not parse, or undefined when it does. */
async function cliParseError(args: string[]): Promise<string | undefined> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: REPO_ROOT };
  const { program } = cliProgram(io, new AbortController().signal, true);
  for (const command of [program, ...program.commands]) command.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const command of program.commands) command.action(() => {});
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (err) {
    const { exitCode, message } = err as { exitCode?: number; message: string };
    return exitCode === 0 ? undefined : message;
  }
}

const exists = (file: string) =>
  stat(path.join(REPO_ROOT, file)).then(
    () => true,
    () => false,
  );

/** Arguments that name something in this repository (examples/…, dist/…, Dockerfile.app), which must exist. */
async function missingPaths(words: string[]): Promise<string[]> {
  const topLevel = new Set(['examples', 'dist', 'docs', 'test', 'src', 'scripts', 'bench', '.ci', '.github']);
  const named = words.filter((word) => topLevel.has(word.split('/')[0]) && word.includes('/') && !word.includes('*'));
  named.push(...words.filter((word) => ['Dockerfile.app', 'app.yml', 'action.yml'].includes(word)));
  const missing: string[] = [];
  for (const file of named) if (!(await exists(file))) missing.push(file);
  return missing;
}

async function problemsOf(command: Shown, scripts: Record<string, string>): Promise<string[]> {
  const [program, ...args] = command.words;
  const problems = (await missingPaths(command.words)).map((file) => `${file} does not exist`);
  if (program === 'npm') {
    const [verb, ...rest] = args;
    const script = verb === 'run' ? rest[0] : verb;
    if (['ci', 'install'].includes(verb)) return problems;
    if (!['test', 'start', 'run'].includes(verb)) return [...problems, `npm ${verb} is not a command these docs should need`];
    if (!script || !scripts[script]) problems.push(`package.json has no script "${script}"`);
    return problems;
  }
  const cliArgs =
    program === 'agent-preview'
      ? args
      : program === 'npx' && args[0] === 'agent-preview'
        ? args.slice(1)
        : program === 'node' && args[0] === 'dist/cli/index.js'
          ? args.slice(1)
          : undefined;
  if (cliArgs) {
    const error = await cliParseError(cliArgs);
    return error ? [...problems, `the CLI refuses it: ${error}`] : problems;
  }
  if (program === 'npx' && OTHER_NPX_PACKAGES.has(args[0])) return problems;
  if (program.startsWith('.') || program.includes('/')) {
    const runnable = await access(path.join(REPO_ROOT, program), constants.X_OK).then(
      () => true,
      () => false,
    );
    return runnable ? problems : [...problems, `${program} is not an executable file of the repository`];
  }
  if (EXTERNAL_PROGRAMS.has(program)) return problems;
  return [...problems, `${program} is a program this test does not know (add it to EXTERNAL_PROGRAMS, or check it)`];
}

describe('the commands the documentation shows', () => {
  let shown: Shown[];
  let scripts: Record<string, string>;

  beforeAll(async () => {
    scripts = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts;
    shown = (await documentationFiles()).flatMap((page) =>
      codeBlocks(page.tree, ['sh', 'bash', 'shell']).flatMap((block) => commandsOf(block.value, `${page.file}:${block.line}`)),
    );
  });

  it('each works as written: CLI lines parse, npm scripts and named files exist, no unknown program', async () => {
    const problems: string[] = [];
    for (const command of shown) for (const problem of await problemsOf(command, scripts)) problems.push(`${command.where} \`${command.text}\`: ${problem}`);
    expect(problems).toEqual([]);
    // The README's three quick-start commands are among them.
    const readme = shown.filter((command) => command.where.startsWith('README.md')).map((command) => command.words.join(' '));
    expect(readme).toEqual(expect.arrayContaining(['npm ci', 'npm start', 'npm test', 'npx agent-preview demo']));
  });

  it("the README's demo from npm runs the whole flow against the local platform and leaves nothing behind", async () => {
    const demo = shown.filter((command) => command.where.startsWith('README.md') && RUN_FOR_REAL.has(command.words.join(' ')));
    expect(demo).toHaveLength(1);
    const run = await runCli(demo[0].words.slice(2), { cwd: REPO_ROOT });
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('hello-agent: passed, 2/2 turns');
    expect(run.stdout).toContain('no previews left behind');
  });
});
