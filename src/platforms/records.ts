/** Reading platform JSON, whose fields vary in spelling and type between API versions. */
export type Json = Record<string, unknown>;

/** A non-empty string, or a number as text; otherwise undefined. */
export function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** The first of these fields that holds a value (see `stringOf`). */
export function stringField(record: Json, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = stringOf(record[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Sorts newest first by `createdAt`; what has no time sorts last. */
export function newestFirst(a: { createdAt?: string }, b: { createdAt?: string }): number {
  return (Date.parse(b.createdAt ?? '') || 0) - (Date.parse(a.createdAt ?? '') || 0);
}
