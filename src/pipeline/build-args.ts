import { InputError } from '../errors.js';

/**
 * Docker build arguments as the action and the CLI take them: the action's `build-args` input is a
 * JSON object or KEY=VALUE lines, the CLI's repeated `--build-arg` gives KEY=VALUE pairs. `field`
 * names the input or flag in the error.
 */
export function parseBuildArgs(input: string | string[] | undefined, field: string): Record<string, string> | undefined {
  if (input === undefined || input.length === 0) return undefined;
  if (typeof input === 'string' && input.trimStart().startsWith('{')) return parseJsonObject(input, field);
  const lines = typeof input === 'string' ? input.split('\n') : input;
  const args: Record<string, string> = {};
  for (const [index, line] of lines.entries()) {
    // Lines of an input are trimmed and may be blank; a flag's value is taken as given.
    const pair = typeof input === 'string' ? line.trim() : line;
    if (!pair && typeof input === 'string') continue;
    const at = pair.indexOf('=');
    const where = typeof input === 'string' ? `line ${index + 1} ` : '';
    if (at <= 0 || !pair.slice(0, at).trim()) throw new InputError(`${where}"${pair}" is not KEY=VALUE`, { field });
    args[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return args;
}

function parseJsonObject(text: string, field: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message}); give a JSON object or KEY=VALUE lines`, { field });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError('must be a JSON object of strings', { field });
  return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([key, value]) => [key, String(value)]));
}
