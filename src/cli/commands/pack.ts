import type { Command } from 'commander';
import path from 'node:path';
import { packContext } from '../../context/pack.js';
import { loadAgent } from '../../pipeline/agent.js';
import { formatBytes } from '../../bytes.js';
import { EXIT, type CliContext } from '../context.js';

export interface PackOptions {
  manifest: string;
  output: string;
  sdkExact?: boolean;
}

export function definePack(program: Command): Command {
  return program
    .command('pack')
    .description("pack an agent's build context as `agentex agents package` would, and print its working_tree_hash")
    .option('-m, --manifest <path>', 'manifest.yaml, or the folder holding it', 'manifest.yaml')
    .option('-o, --output <file>', 'where to write the tar.gz', 'context.tar.gz')
    .option('--sdk-exact', "apply only the SDK's .dockerignore rule, so working_tree_hash always equals the SDK's");
}

export async function pack(cli: CliContext, options: PackOptions): Promise<number> {
  const agent = await loadAgent(options.manifest, { env: cli.io.env });
  const reporter = cli.reporter();
  for (const warning of agent.manifest.warnings) reporter.warn(warning);
  const packed = await packContext(agent.manifest, { outFile: path.resolve(options.output), signal: cli.signal, sdkExact: options.sdkExact });
  for (const own of packed.leftOut) reporter.warn(`${own} lies inside the build context; it is left out of the archive and of working_tree_hash`);
  const summary = {
    agent: agent.manifest.agent.name,
    archive: packed.archivePath,
    archiveBytes: packed.archiveBytes,
    files: packed.fileCount,
    uncompressedBytes: packed.uncompressedBytes,
    workingTreeHash: packed.treeHash,
  };
  if (cli.options.json) cli.emitJson(summary);
  else {
    cli.print(`${summary.archive}: ${formatBytes(summary.archiveBytes)} (${summary.files} files, ${formatBytes(summary.uncompressedBytes)} unpacked)`);
    cli.print(`working_tree_hash ${summary.workingTreeHash}`);
  }
  return EXIT.ok;
}
