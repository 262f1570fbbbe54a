import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedRequest } from './http.js';
import type { PlatformState } from './state.js';

/**
 * `GET /v5/builds/{id}/logs`: the build log as server-sent events, one `{line}` per event with an
 * increasing `id`, resuming after `Last-Event-ID`, and ending when the build finishes.
 * `dropAfter` (a fault) cuts the stream after that many events.
 */
export function streamBuildLog(
  state: PlatformState,
  req: IncomingMessage,
  res: ServerResponse,
  buildId: string,
  record: RecordedRequest,
  openStreams: Set<ServerResponse>,
  dropAfter?: number,
): void {
  const log = state.buildLog(buildId);
  const lastId = Number.parseInt(String(req.headers['last-event-id'] ?? ''), 10);
  let next = Number.isInteger(lastId) && lastId > 0 ? lastId : 0;
  record.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // The client learns at once that the stream is open, not with the first line.
  res.flushHeaders();
  openStreams.add(res);
  let sent = 0;
  const flush = () => {
    while (next < log.lines.length) {
      const line = log.lines[next];
      next++;
      const event = `id: ${next}\ndata: ${JSON.stringify({ line })}\n\n`;
      sent++;
      if (dropAfter !== undefined && sent >= dropAfter) {
        // Destroying at once would discard what is still buffered; the drop comes after the last event is out.
        res.write(event, () => res.destroy());
        return false;
      }
      res.write(event);
    }
    return true;
  };
  const finish = () => {
    cleanup();
    if (flush()) res.end();
  };
  const onLine = () => {
    if (!flush()) cleanup();
  };
  const cleanup = () => {
    log.events.off('line', onLine);
    log.events.off('end', finish);
    openStreams.delete(res);
  };
  res.on('close', cleanup);
  if (!flush()) return cleanup();
  if (log.finished()) return finish();
  log.events.on('line', onLine);
  log.events.on('end', finish);
}
