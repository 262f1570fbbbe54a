/**
 * Where each reviewer's conversation with a pull request's preview is kept between `/preview ask`
 * comments: the platform's id for it (an Agentex task id), so the next `ask` continues it, and the
 * turns so far, for the transcript in the reply. One per repository, pull request, agent and
 * reviewer. In this process's memory, or in Redis (`REDIS_URL`), where it outlives a restart and
 * every replica sees it. The agent's history itself is the platform's: this only remembers which
 * conversation is whose.
 */
import type { KeptTurn } from './reply.js';

export interface KeptConversation {
  /** The platform's id for the conversation (`ConversationSession.id`). */
  sessionId: string;
  /** The deployment the last turn went to. */
  deploymentId: string;
  turns: KeptTurn[];
  updatedAt: string;
}

export interface ConversationStore {
  get(key: string): Promise<KeptConversation | undefined>;
  set(key: string, conversation: KeptConversation): Promise<void>;
}

/** How long a conversation is kept after its last turn: longer than most pull requests stay open. */
export const CONVERSATION_TTL_MS = 30 * 86_400_000;
/** Turns kept for the transcript (the platform keeps the whole history). */
export const KEPT_TURNS = 20;
/** Characters of each kept message and reply. */
export const KEPT_TEXT = 2000;

export function conversationKey(parts: { door: string; repo: string; number: number; agent: string; reviewer: string }): string {
  return [parts.door, parts.repo.toLowerCase(), `pr-${parts.number}`, parts.agent, parts.reviewer.toLowerCase()].map(encodeURIComponent).join(':');
}

/** The turns with a new one, the oldest dropped past `KEPT_TURNS`, each text cut to `KEPT_TEXT`. */
export function withTurn(turns: KeptTurn[], turn: KeptTurn): KeptTurn[] {
  const cut = (text: string | undefined) => (text === undefined || text.length <= KEPT_TEXT ? text : `${text.slice(0, KEPT_TEXT)}…`);
  return [...turns, { ...turn, message: cut(turn.message)!, reply: cut(turn.reply), error: cut(turn.error) }].slice(-KEPT_TURNS);
}

/** In this process: gone when it stops. A Map in insertion order is the bounded, oldest-first store this needs. */
export class MemoryConversationStore implements ConversationStore {
  private readonly kept = new Map<string, { conversation: KeptConversation; at: number }>();

  constructor(private readonly capacity = 10_000) {}

  async get(key: string): Promise<KeptConversation | undefined> {
    const found = this.kept.get(key);
    if (!found || Date.now() - found.at > CONVERSATION_TTL_MS) return undefined;
    return structuredClone(found.conversation);
  }

  async set(key: string, conversation: KeptConversation): Promise<void> {
    this.kept.delete(key);
    this.kept.set(key, { conversation: structuredClone(conversation), at: Date.now() });
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= this.capacity) break;
      this.kept.delete(oldest);
    }
  }
}

/** The part of an ioredis client the Redis store uses. */
export interface RedisStrings {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
}

export const CONVERSATION_KEY_PREFIX = 'agent-preview:conversation:';

/** In Redis, as JSON under `agent-preview:conversation:<key>`, expiring `CONVERSATION_TTL_MS` after the last turn. */
export class RedisConversationStore implements ConversationStore {
  constructor(private readonly redis: RedisStrings) {}

  async get(key: string): Promise<KeptConversation | undefined> {
    const text = await this.redis.get(`${CONVERSATION_KEY_PREFIX}${key}`);
    if (!text) return undefined;
    try {
      const value = JSON.parse(text) as KeptConversation;
      return typeof value?.sessionId === 'string' && Array.isArray(value.turns) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, conversation: KeptConversation): Promise<void> {
    await this.redis.set(`${CONVERSATION_KEY_PREFIX}${key}`, JSON.stringify(conversation), 'PX', CONVERSATION_TTL_MS);
  }
}
