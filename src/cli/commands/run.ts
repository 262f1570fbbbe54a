import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { expandManifestPatterns, loadAgents } from '../../pipeline/agent.js';
import { parseBuildArgs } from '../../pipeline/build-args.js';
import { parseDuration } from '../../duration.js';
import { validateImageInput } from '../../pipeline/image.js';
import { DEFAULT_MAX_PARALLEL, parseMaxParallel, parseRedeployPolicy, runAgents, type RunMode } from '../../pipeline/run.js';
import { formatSourceRepo } from '../../pipeline/source-repo.js';
import { validateUrlTemplate } from '../../pipeline/url.js';
import { EXIT, type CliContext } from '../context.js';
import { describeResult } from '../describe.js';
import { prNumber } from '../options.js';
import { cliRepository, previewLabelsFor } from '../repository.js';

/** The options `build` and `deploy` share. */
export interface RunOptions {
  manifest: string[];
  reuse: boolean;
  sdkExact?: boolean;
  buildArg?: string[];
  buildPlatform?: string;
  repo?: string;
  timeout: string;
  pollInterval: string;
  maxParallel: string;
}

export function addRunOptions(command: Command): Command {
  return command
    .option('-m, --manifest <path...>', "manifest.yaml files or folders (several for a monorepo); a quoted glob such as 'agents/*/manifest.yaml' is expanded", ['manifest.yaml'])
    .option('--no-reuse', 'build even when a successful build of the same tree exists')
    .option('--sdk-exact', "pack with the SDK's .dockerignore rule alone, so working_tree_hash always equals the SDK's")
    .option('--build-arg <key=value...>', 'Docker build argument (repeatable)')
    .option('--build-platform <platform>', 'target image platform, e.g. linux/amd64')
    .option(
      '--repo <host/owner/repo>',
      "the repository this comes from, recorded so that teardowns and the sweep can tell its previews apart (e.g. github.com/acme/agents; default: the one the checkout's git remote origin names)",
    )
    .option('--timeout <duration>', 'how long each build or deployment may take', '30m')
    .option('--poll-interval <duration>', 'how often to check status', '5s')
    .option('--max-parallel <n>', 'how many agents build and deploy at once (build log lines carry the agent name)', String(DEFAULT_MAX_PARALLEL));
}

/** The options only `deploy` takes. */
export interface PreviewOptions {
  image?: string;
  redeploy?: string;
  preview?: boolean;
  label?: string;
  pr?: string;
  ttl?: string;
  environment?: string;
  wait?: boolean;
  previewUrl?: string;
}

/** Builds (and with a deploy mode, deploys) every agent named by `--manifest`; 1 when any failed. */
export async function runAgentsCommand(cli: CliContext, mode: RunMode, options: RunOptions & PreviewOptions): Promise<number> {
  const reporter = cli.reporter();
  const timeoutMs = parseDuration(options.timeout, '--timeout', { minMs: 1000, maxMs: 6 * 3_600_000 });
  const pollIntervalMs = parseDuration(options.pollInterval, '--poll-interval', { minMs: 100, maxMs: 600_000 });
  const buildArgs = parseBuildArgs(options.buildArg, '--build-arg');
  const pr = prNumber(options.pr);
  const maxParallel = parseMaxParallel(options.maxParallel, '--max-parallel');
  const redeploy = parseRedeployPolicy(options.redeploy ?? 'auto', '--redeploy');
  if (mode === 'preview' && !options.label && pr === undefined) throw new InputError('a preview needs --label or --pr', { field: '--label' });
  const ttlMs = mode === 'preview' ? parseDuration(options.ttl ?? '8h', '--ttl', { minMs: 60_000, maxMs: 30 * 86_400_000 }) : 0;
  if (options.previewUrl) validateUrlTemplate(options.previewUrl, '--preview-url');
  const repository = await cliRepository(cli, options.repo, reporter);
  let preview: { label: string; ttlMs: number } | undefined;
  if (mode === 'preview') {
    const { labels } = previewLabelsFor(cli, options, repository);
    if (labels.note) reporter.warn(labels.note);
    preview = { label: labels.label, ttlMs };
  }
  const repo = repository.repo;
  const platform = cli.platform(reporter);
  const image = validateImageInput(options.image, { name: platform.name, serverBuild: Boolean(platform.builder) }, '--image');
  const manifests = await expandManifestPatterns(options.manifest, process.cwd(), '--manifest');
  const agents = await loadAgents(manifests, { environment: options.environment, requireEnvironment: mode !== 'build', sdkExact: options.sdkExact, env: cli.io.env });
  const results = await runAgents(platform, agents, {
    mode,
    reporter,
    signal: cli.signal,
    timeoutMs,
    pollIntervalMs,
    preview,
    wait: options.wait,
    urlTemplate: options.previewUrl,
    urlVariables: { number: pr },
    buildArgs,
    buildPlatform: options.buildPlatform,
    image,
    provenance: repo ? { repo: formatSourceRepo(repo) } : undefined,
    reuse: options.reuse,
    maxParallel,
    redeploy,
  });
  reporter.flush();
  if (cli.options.json) cli.emitJson(results);
  else for (const result of results) cli.print(describeResult(result, !cli.options.quiet));
  return results.some((result) => result.status === 'failed') ? EXIT.failed : EXIT.ok;
}
