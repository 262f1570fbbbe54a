import { readFileSync } from 'node:fs';

/**
 * Why the event payload at GITHUB_EVENT_PATH cannot be read as JSON, or undefined when it can (or
 * is absent, which `readRunEvent` reports). `@actions/github` reads it with `JSON.parse` when its
 * module loads (@actions/github@9.1.1: lib/context.js), so this runs before that module is loaded.
 */
export function unreadableEventFile(env: NodeJS.ProcessEnv): string | undefined {
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return `${path}: the event payload is not JSON (${(err as Error).message}); run inside GitHub or Gitea Actions, or point GITHUB_EVENT_PATH at a webhook payload`;
  }
}
