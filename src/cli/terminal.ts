import type { Writable } from 'node:stream';
import { formatBytes } from '../bytes.js';
import { formatDuration } from '../duration.js';
import type { Reporter } from '../pipeline/reporter.js';
import { redact } from '../secrets/redact.js';

// C0 controls but tab and newline, DEL, and C1 controls (U+0080–U+009F, which some terminals read as ESC sequences).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from outside (build logs, platform answers and errors) without control characters, so an
 * ESC or OSC sequence in it (OSC 52 writes the clipboard) cannot act on the terminal showing it.
 */
export function stripControls(text: string): string {
  return text.replace(CONTROL_CHARACTERS, '');
}

/** A value for `--json` whose strings carry no control characters (JSON would only escape C0, and a reader turns them back). */
export function stringifyWithoutControls(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? stripControls(item) : item), 2);
}

export interface TerminalOptions {
  /** Progress and logs go here (stderr, so stdout stays clean for results and --json). */
  stream: Writable & { isTTY?: boolean; columns?: number };
  color?: boolean;
  /** Hide build log lines (progress and statuses are still shown). */
  quiet?: boolean;
}

export interface TerminalReporter extends Reporter {
  /** Ends any progress line in place. */
  flush(): void;
}

/** Renders the pipeline's progress for a person at a terminal, or a CI log when not a TTY. */
export function terminalReporter(options: TerminalOptions): TerminalReporter {
  const { stream } = options;
  const tty = Boolean(stream.isTTY);
  const color = options.color ?? (tty && !process.env.NO_COLOR);
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  let progressShown = false;
  const lastPercent = new Map<string, number>();
  let lastDraw = 0;

  const write = (line: string) => {
    if (progressShown) {
      stream.write('\n');
      progressShown = false;
    }
    stream.write(`${redact(line)}\n`);
  };
  // Every string handed to the reporter may come from outside; only our own colours are escapes.
  const clean = stripControls;

  return {
    info: (message) => write(clean(message)),
    warn: (message) => write(`${paint('33', 'warning:')} ${clean(message)}`),
    step: (agent, message) => write(`${paint('1;36', '▸')} ${paint('1', clean(agent))} ${clean(message)}`),
    buildLog: (agent, line) => {
      if (!options.quiet) write(`  ${paint('2', `${clean(agent)} │`)} ${clean(line)}`);
    },
    uploadProgress(rawAgent, sent, total) {
      const agent = clean(rawAgent);
      const percent = total > 0 ? Math.floor((sent / total) * 100) : 100;
      if (tty) {
        const now = Date.now();
        if (percent < 100 && now - lastDraw < 100) return;
        lastDraw = now;
        const width = 24;
        const filled = Math.round((percent / 100) * width);
        stream.write(`\r  ${agent} upload [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}% ${formatBytes(sent, 2)}/${formatBytes(total, 2)}`);
        progressShown = percent < 100;
        if (percent >= 100) stream.write('\n');
        return;
      }
      // One line each time a quarter is passed, with the percentage of the bytes it shows.
      const quarter = Math.floor(percent / 25) * 25;
      if (quarter > (lastPercent.get(agent) ?? -1)) {
        lastPercent.set(agent, quarter);
        write(`  ${agent} upload ${percent}% (${formatBytes(sent, 2)} of ${formatBytes(total, 2)})`);
      }
    },
    status: (agent, what, status, elapsedMs) => write(`  ${clean(agent)} ${clean(what)} ${paint('1', clean(status))} ${paint('2', `(${formatDuration(elapsedMs)})`)}`),
    flush() {
      if (progressShown) stream.write('\n');
      progressShown = false;
    },
  };
}
