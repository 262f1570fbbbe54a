#!/usr/bin/env node
import { installProxyDispatcher } from '../http/proxy.js';
import { main } from './main.js';

installProxyDispatcher();

const controller = new AbortController();
let interrupts = 0;
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\n${name}: stopping; in-flight builds are cancelled on the platform (press again to quit at once)\n`);
    controller.abort(new Error(`received ${name}`));
  });
}

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
