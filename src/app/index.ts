#!/usr/bin/env node
import { installProxyDispatcher } from '../http/proxy.js';
import { redact } from '../secrets/redact.js';
import { appOptionsFromEnv } from './config.js';
import { startAppServer } from './server.js';

/**
 * `npm run app`: serves the webhook app until SIGTERM or SIGINT; then it stops taking deliveries and
 * finishes the acknowledged teardowns, queued and running, for up to TEARDOWN_GRACE (default 25 s).
 */
async function main(): Promise<void> {
  installProxyDispatcher();
  const server = await startAppServer(await appOptionsFromEnv(process.env));
  const stop = () => {
    server.log.info('stopping: no new deliveries; acknowledged teardowns get the grace period (TEARDOWN_GRACE) to finish');
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
