import { setFlagsFromString } from 'node:v8';

/**
 * V8's budget before it recompiles a WebAssembly function with TurboFan (dynamic tier-up): v8/v8
 * `src/flags/flag-definitions.h`, `wasm_tiering_budget`, "budget for dynamic tiering (rough
 * approximation of bytes executed)", 1,800,000 in Node 20's V8 (`node --v8-options`, Node 20.20.2)
 * and 13,000,000 in later V8 releases; this is about 550 and 77 times those.
 */
const HTTP_PARSER_TIERING_BUDGET = 1_000_000_000;

/**
 * undici parses every HTTP response with llhttp compiled to WebAssembly (undici 7
 * `lib/dispatcher/client-h1.js`, `lazyllhttp`, at the first connection). At V8's default budget the
 * first response already sends llhttp's one large parsing function (33 KB of code) to TurboFan: on
 * Node 20 that is 200 ms of CPU and 40 MB of compiler memory on a background thread, in every
 * process, however few requests it makes. The doors that live for one command (the action, the CLI)
 * make tens of requests, for which V8's baseline code (Liftoff) is fast enough: with this budget
 * llhttp is recompiled only after some hundreds of responses, where it pays off. Measured in
 * docs/development.md ("Test suite cost").
 *
 * Call it before the first request; it changes nothing else (the flag concerns WebAssembly only).
 */
export function deferHttpParserOptimization(): void {
  setFlagsFromString(`--wasm-tiering-budget=${HTTP_PARSER_TIERING_BUDGET}`);
}
