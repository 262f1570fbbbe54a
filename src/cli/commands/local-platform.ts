import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { startLocalPlatform } from '../../local-platform/index.js';
import { DEFAULT_LOCAL_PORT } from '../../platforms/index.js';
import { redact, registerSecret } from '../../secrets/redact.js';
import { CommandFailure, EXIT, type CliContext } from '../context.js';
import { stripControls } from '../terminal.js';

export interface LocalPlatformCommandOptions {
  port: string;
  host: string;
  requireApiKey?: string;
}

export function defineLocalPlatform(program: Command): Command {
  return program
    .command('local-platform')
    .description('run the Agentex-compatible local platform until interrupted')
    .option('-p, --port <port>', 'port to listen on', String(DEFAULT_LOCAL_PORT))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--require-api-key <key>', 'reject requests without this x-api-key');
}

/** Serves until the signal aborts (Ctrl-C), then stops the server. */
export async function localPlatform(cli: CliContext, options: LocalPlatformCommandOptions): Promise<number> {
  const port = Number.parseInt(options.port, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`"${options.port}" is not a port number`, { field: '--port' });
  registerSecret(options.requireApiKey);
  const local = await startLocalPlatform({
    port,
    host: options.host,
    apiKey: options.requireApiKey,
    log: (line: string) => cli.io.stderr.write(`${stripControls(redact(line))}\n`),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new CommandFailure(`${options.host}:${port} is already in use; stop what listens there or choose another --port`);
    if (err.code === 'EACCES') throw new CommandFailure(`not allowed to listen on ${options.host}:${port}; choose a --port above 1023`);
    if (err.code === 'EADDRNOTAVAIL') throw new CommandFailure(`${options.host} is not an address of this machine (--host)`);
    throw err;
  });
  cli.print(`local platform listening on ${local.url}`);
  cli.print(`use it with: agent-preview --platform local --api-url ${local.url} deploy --pr 1 -m examples/hello-agent`);
  await new Promise<void>((resolve) => {
    if (cli.signal.aborted) resolve();
    cli.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await local.close();
  cli.print('local platform stopped');
  return EXIT.ok;
}
