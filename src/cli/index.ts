#!/usr/bin/env node
import { deferHttpParserOptimization } from '../http/parser-tiering.js';
import { installProxyDispatcher } from '../http/proxy.js';
import { EXIT, main } from './main.js';

deferHttpParserOptimization();
installProxyDispatcher();

// A reader that stops early (`agent-preview logs <id> | head -1`) closes the pipe: end at once and
// quietly, with the status of a program killed by SIGPIPE (128 + 13), as `git log | head -1` does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.brokenPipe);
    throw err;
  });
}

const controller = new AbortController();
let interrupts = 0;
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    // Each command says what stopping did (a cancelled build is reported once it is cancelled).
    process.stderr.write(`\n${name}: stopping (press again to quit at once)\n`);
    controller.abort(new Error(`received ${name}`));
  });
}

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
