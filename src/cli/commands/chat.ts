import type { Command } from 'commander';
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { openHttpSession } from '../../conversation/http-session.js';
import { findChatPreview, NoPreviewError } from '../../conversation/target.js';
import { parseDuration } from '../../duration.js';
import { sendWithin } from '../../conversation/runner.js';
import { InputError } from '../../errors.js';
import { loadAgent } from '../../pipeline/agent.js';
import { cliRepository, previewLabelsFor } from '../repository.js';
import { formatSourceRepo } from '../../pipeline/source-repo.js';
import type { ConversationSession, Deployment } from '../../platforms/platform.js';
import { redact } from '../../secrets/redact.js';
import { CommandFailure, EXIT, type CliContext } from '../context.js';
import { prNumber } from '../options.js';
import { stripControls } from '../terminal.js';

export interface ChatOptions {
  pr?: string;
  label?: string;
  agent?: string;
  repo?: string;
  agentexUrl?: string;
  manifest?: string;
  timeout: string;
  readyTimeout: string;
}

/** What a message may hold, as in preview-smoke.yaml. */
const MAX_MESSAGE_CHARS = 32_000;

export function defineChat(program: Command): Command {
  return program
    .command('chat')
    .description("talk to a pull request's live preview: each line is a message; with stdin not a terminal, reads messages line by line and exits at the end")
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--label <label>', 'preview label')
    .option('--agent <name>', 'which agent, when the preview has several')
    .option('--repo <host/owner/repo>', "the repository the action deployed from (its previews' labels carry it); default: the one the checkout's git remote origin names")
    .option('--agentex-url <url>', 'Agentex: the Agentex server that holds conversations (env AGENTEX_BASE_URL)')
    .option('-m, --manifest <path>', "an agent whose preview-smoke.yaml has an http: conversation: chat over HTTP with the preview's URL")
    .option('--timeout <duration>', 'how long each reply may take', '60s')
    .option('--ready-timeout <duration>', 'how long to wait for the preview to accept conversations', '5m');
}

/** One conversation with a live preview, a line at a time; 1 when any message got no reply. */
export async function chat(cli: CliContext, options: ChatOptions): Promise<number> {
  const timeoutMs = parseDuration(options.timeout, '--timeout', { minMs: 100, maxMs: 30 * 60_000 });
  const { session, agent } = await openChat(cli, options);
  const input = cli.io.stdin ?? (process.stdin as Readable & { isTTY?: boolean });
  const lines = readLines(cli, input);
  let failures = 0;
  try {
    for await (const line of lines) {
      const message = line.trim();
      if (!message) {
        lines.prompt?.();
        continue;
      }
      if (message === '/exit' || message === '/quit') break;
      if (!(await chatTurn(cli, session, agent, message, timeoutMs))) failures++;
      lines.prompt?.();
    }
  } finally {
    lines.close();
    await session.close?.({ signal: AbortSignal.timeout(10_000) }).catch(() => {});
  }
  return failures ? EXIT.failed : EXIT.ok;
}

/** Finds the preview and opens the conversation, saying with what on stderr. */
async function openChat(cli: CliContext, options: ChatOptions): Promise<{ session: ConversationSession; agent: string }> {
  const pr = prNumber(options.pr);
  if (!options.label && pr === undefined) throw new InputError('give --pr (or --label)', { field: '--pr' });
  const readyTimeoutMs = parseDuration(options.readyTimeout, '--ready-timeout', { minMs: 1000, maxMs: 60 * 60_000 });
  const reporter = cli.reporter();
  // The repository as status and teardown take it: --repo, else the checkout's origin remote.
  const { labels, repo } = previewLabelsFor(cli, options, await cliRepository(cli, options.repo, reporter));
  const http = options.manifest ? await httpConversationOf(options.manifest) : undefined;
  const platform = cli.platform(reporter, { agentexUrl: options.agentexUrl });
  const what = pr !== undefined ? `pull request #${pr}` : `label "${labels.label}"`;
  let deployment: Deployment;
  try {
    deployment = await findChatPreview(platform, labels, { agent: options.agent, repo, signal: cli.signal, what });
  } catch (err) {
    if (err instanceof NoPreviewError) throw new CommandFailure(err.message);
    throw err;
  }
  const agent = deployment.agentName ?? options.agent ?? 'agent';
  const metadata: Record<string, string> = {};
  if (pr !== undefined) metadata.pull_request = String(pr);
  if (repo) metadata.repository = formatSourceRepo(repo);
  let session: ConversationSession;
  if (http) {
    if (!deployment.url) throw new CommandFailure(`preview ${deployment.id} of ${agent} has no URL for the http conversation`);
    session = openHttpSession(deployment.url, http);
  } else if (platform.conversation) {
    reporter.info(`opening a conversation with ${agent}'s preview ${deployment.id}…`);
    session = await platform.conversation.open({ deployment, agentName: agent, url: deployment.url, metadata }, { signal: cli.signal, readyTimeoutMs });
  } else {
    throw new CommandFailure(platform.conversationUnsupported ?? `${platform.name} previews cannot be talked to`);
  }
  reporter.info(`chatting with ${agent} (preview ${deployment.id}${session.id ? `, conversation ${session.id}` : ''}); each line is a message, /exit or Ctrl-D ends`);
  return { session, agent };
}

/** The http: conversation of the agent's preview-smoke.yaml. */
async function httpConversationOf(manifest: string) {
  const loaded = await loadAgent(manifest, { requireEnvironment: false });
  const http = loaded.smoke?.conversations.find((conversation) => conversation.http)?.http;
  if (!http) throw new InputError(`${loaded.manifest.agent.name} has no preview-smoke.yaml with an http: conversation beside its manifest`, { field: '--manifest' });
  return http;
}

/** Lines of input; at a terminal, with a prompt on stderr and Ctrl-C ending the chat. */
function readLines(cli: CliContext, input: Readable & { isTTY?: boolean }): AsyncIterable<string> & { prompt?: () => void; close: () => void } {
  const tty = Boolean(input.isTTY && cli.io.stderr.isTTY);
  const rl: Interface = createInterface({ input, output: tty ? cli.io.stderr : undefined, terminal: tty, crlfDelay: Infinity });
  const ended = () => rl.close();
  cli.signal.addEventListener('abort', ended, { once: true });
  if (tty) {
    rl.setPrompt('you › ');
    rl.on('SIGINT', ended);
    rl.prompt();
  }
  return {
    [Symbol.asyncIterator]: () => rl[Symbol.asyncIterator](),
    prompt: tty ? () => rl.prompt() : undefined,
    close: () => {
      cli.signal.removeEventListener('abort', ended);
      rl.close();
    },
  };
}

/** Sends one message and prints the reply (or, with --json, one JSON line); false when no reply came. */
async function chatTurn(cli: CliContext, session: ConversationSession, agent: string, message: string, timeoutMs: number): Promise<boolean> {
  const say = (value: Record<string, unknown>) =>
    cli.io.stdout.write(`${redact(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? stripControls(item) : item)))}\n`);
  if (message.length > MAX_MESSAGE_CHARS) {
    const error = `the message is ${message.length} characters; keep it under ${MAX_MESSAGE_CHARS}`;
    if (cli.options.json) say({ agent, message: message.slice(0, 200), error });
    else cli.io.stderr.write(`error: ${error}\n`);
    return false;
  }
  const started = performance.now();
  try {
    const reply = await sendWithin(session, message, timeoutMs, cli.signal);
    const latencyMs = Math.round(performance.now() - started);
    if (cli.options.json) say({ agent, conversation: session.id, message, reply: reply.text, latencyMs });
    else cli.print(`${agent} › ${reply.text}`);
    return true;
  } catch (err) {
    if (cli.signal.aborted) throw err;
    const error = (err as Error).message;
    if (cli.options.json) say({ agent, conversation: session.id, message, error });
    else cli.io.stderr.write(`${stripControls(redact(`error: ${error}`))}\n`);
    return false;
  }
}
