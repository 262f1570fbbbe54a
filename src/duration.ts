import { InputError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `90s`, `30m`, `8h`, `1h30m`, `2d` or a bare number of seconds into milliseconds. `field`
 * names the input or flag in the error. Zero is too short unless `minMs` is 0, and not a duration without `minMs`.
 */
export function parseDuration(text: string, field: string, limits: { minMs?: number; maxMs?: number } = {}): number {
  const input = text.trim().toLowerCase();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(input)) ms = Number(input) * 1000;
  else if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(input)) {
    ms = 0;
    for (const [, amount, , unit] of input.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(amount) * UNIT_MS[unit];
  }
  // Zero is a duration; it is too short wherever a least one is set (and refused where none is).
  if (ms === undefined || !Number.isFinite(ms) || (ms === 0 && limits.minMs === undefined)) {
    throw new InputError(`"${text}" is not a duration; write it like 90s, 30m, 8h or 1h30m`, { field });
  }
  if (limits.minMs !== undefined && ms < limits.minMs) {
    throw new InputError(`"${text}" is too short; the least allowed is ${formatDuration(limits.minMs)}`, { field });
  }
  if (limits.maxMs !== undefined && ms > limits.maxMs) {
    throw new InputError(`"${text}" is too long; the most allowed is ${formatDuration(limits.maxMs)}`, { field });
  }
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const parts: string[] = [];
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (days) parts.push(`${days}d`);
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (rest && !days) parts.push(`${rest}s`);
  return parts.join('');
}
