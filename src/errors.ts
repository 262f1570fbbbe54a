/**
 * Errors the user can act on. Every message names what is at fault (a file, a line, a field, an
 * API call) and, where it can, what to do about it.
 */

/** Bad input found before any side effect: a file, a flag, an action input. */
export class InputError extends Error {
  override name = 'InputError';
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;

  constructor(message: string, where: { file?: string; line?: number; field?: string } = {}) {
    super(InputError.format(message, where));
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }

  private static format(message: string, where: { file?: string; line?: number; field?: string }): string {
    const place = [where.file && (where.line ? `${where.file}:${where.line}` : where.file), where.field && `field "${where.field}"`].filter(Boolean).join(', ');
    return place ? `${place}: ${message}` : message;
  }
}

/** A call to a platform or forge API that failed for good (after any retries). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** Which call, e.g. "POST /v5/builds (create build)". */
    readonly call: string,
    /** HTTP status, or undefined when no response arrived. */
    readonly status: number | undefined,
    /** The server's own message, already cleared of secrets. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${call} failed${status ? ` with HTTP ${status}` : ''}: ${detail}`, options);
  }
}

/** Something a platform does not offer (no build API, no URL), asked for anyway. */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

/** A wait that ran past its deadline. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** A conversation with a preview failed: the platform answered with an error (a JSON-RPC `error`), no reply, or the preview is not ready. */
export class ConversationError extends Error {
  override name = 'ConversationError';
  constructor(
    message: string,
    /** The platform's error code, when it gave one (JSON-RPC `error.code`). */
    readonly code?: number | string,
  ) {
    super(message);
  }
}
