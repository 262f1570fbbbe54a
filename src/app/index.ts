#!/usr/bin/env node
import { redact } from '../secrets/redact.js';
import { appOptionsFromEnv } from './config.js';
import { startAppServer } from './server.js';

/** `npm run app`: serves the webhook app until SIGTERM or SIGINT, then finishes queued teardowns. */
async function main(): Promise<void> {
  const server = await startAppServer(await appOptionsFromEnv(process.env));
  const stop = () => {
    server.log.info('stopping: teardowns in flight finish; what would have been retried is left for the sweep');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`agent-preview app: ${redact(err instanceof Error ? err.message : String(err))}\n`);
  process.exit(1);
});
