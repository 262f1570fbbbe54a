import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** Server-Sent Events from a response body, one message at a time, as they arrive. */
export async function* readServerSentEvents(body: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    while (pending.length) yield pending.shift()!;
  }
  parser.feed(decoder.decode());
  while (pending.length) yield pending.shift()!;
}
