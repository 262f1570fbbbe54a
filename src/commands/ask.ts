/**
 * `/preview ask [agent] <message>`: one turn of the reviewer's conversation with the pull request's
 * live preview, through the platform's `conversation` part (as `agent-preview chat` holds one).
 * Each reviewer has one conversation per pull request and agent: the platform's id for it is kept
 * (`conversations.ts`), and the next `ask` continues it (`resume`) for as long as the platform has
 * it; when it is gone (a restarted server, a cancelled task, another deployment on a platform whose
 * conversations live on the deployment) a new one starts, and the reply says so.
 */
import { ConversationError } from '../errors.js';
import { sendWithin } from '../conversation/runner.js';
import type { ConversationSession, ConversationTarget, Deployment } from '../platforms/platform.js';
import { formatSourceRepo } from '../pipeline/source-repo.js';
import { redact } from '../secrets/redact.js';
import { conversationKey, withTurn, type KeptConversation } from './conversations.js';
import type { CommandResult, CommandRun } from './context.js';
import { splitAgent } from './parse.js';
import { ownLivePreviews } from './previews.js';
import { askBody, plain } from './reply.js';

export async function askCommand(run: CommandRun, text: string): Promise<CommandResult> {
  const { platform, signal } = run;
  if (!platform.conversation) {
    return refused(`${platform.name} previews cannot be talked to: ${platform.conversationUnsupported ?? 'the platform offers no way to send a deployed agent a message'}.`);
  }
  const { previews } = await ownLivePreviews(platform, run.labels, run.access.repo, signal);
  const chosen = choosePreview(previews, text);
  if ('refusal' in chosen) return refused(chosen.refusal);
  const { deployment, message } = chosen;
  if (deployment.phase !== 'healthy') return refused(`the ${deployment.agentName} preview (${deployment.id}) is ${deployment.rawStatus}, not healthy yet; ask again once it is.`);
  const key = conversationKey({ door: run.job.door, repo: formatSourceRepo(run.access.repo), number: run.job.number, agent: deployment.agentName!, reviewer: run.reviewer });
  const kept = await run.conversations.get(key);
  const opened = await openSession(run, target(run, deployment), kept);
  if ('refusal' in opened) return refused(opened.refusal);
  const { session, note } = opened;
  const turns = note ? [] : (kept?.turns ?? []);
  const started = performance.now();
  try {
    const reply = await sendWithin(session, message, run.timing.askTimeoutMs, signal);
    const latencyMs = performance.now() - started;
    const all = withTurn(turns, { message, reply: redact(reply.text), latencyMs });
    await keep(run, key, { sessionId: session.id ?? '', deploymentId: deployment.id, turns: all, updatedAt: new Date().toISOString() });
    return { ok: true, body: askBody({ agent: deployment.agentName!, reply: reply.text, latencyMs, sessionId: session.id, turns: all, note }) };
  } catch (err) {
    signal.throwIfAborted();
    const error = redact(err instanceof Error ? err.message : String(err));
    // The platform may have taken the message into the conversation even so: keep it, so the next ask continues there.
    if (session.id) await keep(run, key, { sessionId: session.id, deploymentId: deployment.id, turns: withTurn(turns, { message, error }), updatedAt: new Date().toISOString() });
    return refused(`${deployment.agentName} gave no reply: ${error}`);
  }
}

function choosePreview(previews: Deployment[], text: string): { deployment: Deployment; message: string } | { refusal: string } {
  const agents = previews.map((deployment) => deployment.agentName!);
  const { agent, message } = splitAgent(text, agents);
  if (!previews.length) return { refusal: 'this pull request has no live preview of this repository to ask; the action deploys one on the next push.' };
  if (agent) return { deployment: previews.find((deployment) => deployment.agentName === agent)!, message };
  if (previews.length > 1) return { refusal: `this pull request has previews of several agents (${agents.join(', ')}): name one, e.g. \`/preview ask ${agents[0]} <message>\`.` };
  return { deployment: previews[0], message };
}

function target(run: CommandRun, deployment: Deployment): ConversationTarget {
  return {
    deployment,
    agentName: deployment.agentName!,
    url: deployment.url,
    metadata: {
      source: 'agent-preview /preview ask',
      repository: formatSourceRepo(run.access.repo),
      pull_request: String(run.job.number),
      commit: run.pull.headSha,
      reviewer: run.reviewer,
    },
  };
}

/** The reviewer's conversation, continued where the platform still has it; else a new one, with a note saying so. */
async function openSession(
  run: CommandRun,
  to: ConversationTarget,
  kept: KeptConversation | undefined,
): Promise<{ session: ConversationSession; note?: string } | { refusal: string }> {
  const conversation = run.platform.conversation!;
  const options = { signal: run.signal, readyTimeoutMs: run.timing.askTimeoutMs, pollIntervalMs: Math.min(run.timing.pollIntervalMs, 2_000) };
  let note: string | undefined;
  try {
    if (kept?.sessionId) {
      try {
        const session = await conversation.open(to, { ...options, resume: kept.sessionId });
        if (session.resumed !== false) return { session };
        note = `${run.platform.name} keeps no conversation to continue: this is a new one.`;
      } catch (err) {
        if (!(err instanceof ConversationError && err.code === 'gone')) throw err;
        note = `your earlier conversation (${kept.sessionId}) is gone from ${run.platform.name}: this is a new one.`;
      }
    }
    return { session: await conversation.open(to, options), note };
  } catch (err) {
    run.signal.throwIfAborted();
    return { refusal: `could not open a conversation with the ${to.agentName} preview (${to.deployment.id}): ${redact(err instanceof Error ? err.message : String(err))}` };
  }
}

async function keep(run: CommandRun, key: string, conversation: KeptConversation): Promise<void> {
  await run.conversations.set(key, conversation).catch((err: Error) => run.log.warn(`the conversation could not be kept for the next ask: ${redact(err.message)}`));
}

function refused(text: string): CommandResult {
  return { ok: false, body: `😕 ${plain(text)}` };
}
