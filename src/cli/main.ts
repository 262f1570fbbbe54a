import { Command, CommanderError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { packContext } from '../context/pack.js';
import { ApiError, InputError, TimeoutError } from '../errors.js';
import { loadAgent, loadAgents } from '../pipeline/agent.js';
import { formatBytes } from '../pipeline/build.js';
import { formatDuration, parseDuration } from '../pipeline/duration.js';
import { PhaseError } from '../pipeline/errors.js';
import { DEFAULT_LABEL_TEMPLATE, resolvePreviewLabel } from '../pipeline/label.js';
import { runAgents, type AgentResult, type RunMode } from '../pipeline/run.js';
import { teardownPreviews, type TeardownOutcome } from '../previews/teardown.js';
import { validateUrlTemplate } from '../pipeline/url.js';
import { createPlatform, DEFAULT_LOCAL_PORT, PLATFORM_NAMES, type PlatformSettings } from '../platforms/index.js';
import { startLocalPlatform } from '../local-platform/index.js';
import type { Deployment, Platform } from '../platforms/platform.js';
import { forgeTokensFrom, sweepWithTokens } from '../previews/sweep-tokens.js';
import { formatSweepReport } from '../previews/sweep.js';
import { validateImageInput } from '../pipeline/image.js';
import { formatSourceRepo, parseSourceRepo, type SourceRepo } from '../pipeline/source-repo.js';
import { redact, registerSecret } from '../secrets/redact.js';
import { terminalReporter, type TerminalReporter } from './terminal.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export const EXIT = { ok: 0, failed: 1, badInput: 2, cancelled: 130 } as const;

interface GlobalOptions {
  platform?: string;
  apiUrl?: string;
  apiKey?: string;
  accountId?: string;
  json?: boolean;
  quiet?: boolean;
}

interface WaitOptions {
  timeout: string;
  pollInterval: string;
}

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEMO_AGENT = path.join(PACKAGE_ROOT, 'examples', 'hello-agent');

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const signal = io.signal ?? new AbortController().signal;
  let exitCode: number = EXIT.ok;
  const print = (text: string): void => {
    io.stdout.write(`${redact(text)}\n`);
  };
  const reporterFor = (options: GlobalOptions): TerminalReporter => terminalReporter({ stream: io.stderr, quiet: options.quiet });
  const platformFor = (options: GlobalOptions, reporter?: TerminalReporter): Platform => {
    registerSecret(options.apiKey);
    const settings: PlatformSettings = {
      platform: options.platform ?? io.env.AGENT_PREVIEW_PLATFORM,
      apiUrl: options.apiUrl,
      apiKey: options.apiKey,
      accountId: options.accountId,
      env: io.env,
      onRetry: reporter
        ? (notice) => reporter.warn(`${notice.call}: ${notice.reason}; retrying in ${formatDuration(notice.delayMs)} (${notice.attempt}/${notice.of})`)
        : undefined,
    };
    return createPlatform(settings);
  };
  const emitJson = (value: unknown): void => print(JSON.stringify(value, null, 2));

  const program = new Command('agent-preview')
    .description('Per-pull-request preview deployments for AI agents.')
    .addOption(new Option('--platform <name>', 'hosting platform').choices([...PLATFORM_NAMES]))
    .option('--api-url <url>', 'platform API base URL (env SGP_CLIENT_BASE_URL; local: AGENT_PREVIEW_LOCAL_URL)')
    .option('--api-key <key>', 'platform API key; prefer env SGP_API_KEY, which stays out of shell history')
    .option('--account-id <id>', 'platform account (env SGP_ACCOUNT_ID)')
    .option('--json', 'print results as JSON on stdout')
    .option('-q, --quiet', 'hide build log lines')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run agent-preview --help for usage)');

  const globals = () => program.opts<GlobalOptions>();

  program
    .command('pack')
    .description("pack an agent's build context as `agentex agents package` would, and print its working_tree_hash")
    .option('-m, --manifest <path>', 'manifest.yaml, or the folder holding it', 'manifest.yaml')
    .option('-o, --output <file>', 'where to write the tar.gz', 'context.tar.gz')
    .action(async (options: { manifest: string; output: string }) => {
      const agent = await loadAgent(options.manifest);
      for (const warning of agent.manifest.warnings) reporterFor(globals()).warn(warning);
      const packed = await packContext(agent.manifest, { outFile: path.resolve(options.output), signal });
      const summary = {
        agent: agent.manifest.agent.name,
        archive: packed.archivePath,
        archiveBytes: packed.archiveBytes,
        files: packed.fileCount,
        uncompressedBytes: packed.uncompressedBytes,
        workingTreeHash: packed.treeHash,
      };
      if (globals().json) return emitJson(summary);
      print(`${summary.archive}: ${formatBytes(summary.archiveBytes)} (${summary.files} files, ${formatBytes(summary.uncompressedBytes)} unpacked)`);
      print(`working_tree_hash ${summary.workingTreeHash}`);
    });

  const addRunOptions = (command: Command) =>
    command
      .option('-m, --manifest <path...>', 'manifest.yaml files or folders (several for a monorepo)', ['manifest.yaml'])
      .option('--no-reuse', 'build even when a successful build of the same tree exists')
      .option('--build-arg <key=value...>', 'Docker build argument (repeatable)')
      .option('--build-platform <platform>', 'target image platform, e.g. linux/amd64')
      .option('--repo <host/owner/repo>', 'record the repository this deploy comes from, so teardowns and the sweep can tell it apart (e.g. github.com/acme/agents)')
      .option('--image <name:tag>', "pushed image to deploy on platforms that do not build (mutx, astropods); {agent} is filled in (default the manifest's image)")
      .option('--timeout <duration>', 'how long each build or deployment may take', '30m')
      .option('--poll-interval <duration>', 'how often to check status', '5s');

  addRunOptions(program.command('build').description('build agents on the platform (reusing an unchanged build)')).action(
    async (options: RunFlags) => {
      exitCode = await runCommand('build', options);
    },
  );

  addRunOptions(program.command('deploy').description('build and deploy agents, as a preview or for real'))
    .option('--preview', 'deploy a preview (implied by --label and --pr)')
    .option('--label <label>', 'preview label (default pr-<number>)')
    .option('--pr <number>', 'pull request number for the default label')
    .option('--ttl <duration>', 'how long the preview lives', '8h')
    .option('-e, --environment <name>', 'entry of environments.yaml to deploy with')
    .option('--no-wait', 'return once the deployment is created')
    .option('--preview-url <template>', 'URL template for platforms whose deployments carry no URL')
    .action(async (options: RunFlags) => {
      exitCode = await runCommand(options.preview || options.label || options.pr ? 'preview' : 'deploy', options);
    });

  program
    .command('status')
    .description('list deployments, by label or agent')
    .option('--label <label>', 'preview label')
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--agent <name>', 'agent name')
    .option('--id <deployment>', 'one deployment')
    .action(async (options: { label?: string; pr?: string; agent?: string; id?: string }) => {
      const platform = platformFor(globals());
      let deployments: Deployment[];
      if (options.id) deployments = [await platform.getDeployment(options.id, { signal })];
      else {
        const label = options.label || options.pr ? resolvePreviewLabel(options.label, { number: options.pr }, '--label').label : undefined;
        if (!label && !options.agent) throw new InputError('give --label, --pr, --agent or --id', { field: 'status' });
        deployments = await platform.listDeployments({ previewLabel: label, agentName: options.agent }, { signal });
      }
      if (globals().json) return emitJson(deployments);
      if (deployments.length === 0) return print('no deployments found');
      print(formatTable(deployments));
    });

  program
    .command('logs <id>')
    .description("a deployment's runtime logs, or with --build a build's log")
    .option('--build', 'the id is a build: stream its build log')
    .option('--tail <lines>', 'at most this many deployment log lines', '200')
    .action(async (id: string, options: { build?: boolean; tail: string }) => {
      const platform = platformFor(globals());
      if (options.build) {
        const lines: string[] = [];
        let cursor = await platform.streamBuildLogs(id, (line) => (globals().json ? lines.push(line) : print(line)), { signal });
        for (let retry = 0; cursor.ended === 'dropped' && retry < 5; retry++) {
          cursor = await platform.streamBuildLogs(id, (line) => (globals().json ? lines.push(line) : print(line)), { signal, resume: cursor });
        }
        if (globals().json) emitJson(lines);
        return;
      }
      const maxLines = Number.parseInt(options.tail, 10);
      if (!Number.isInteger(maxLines) || maxLines <= 0) throw new InputError(`"${options.tail}" is not a positive number`, { field: '--tail' });
      const lines = await platform.deploymentLogs(id, { signal, maxLines });
      if (globals().json) return emitJson(lines);
      if (lines.length === 0) print('no log lines');
      for (const line of lines) print(`${line.timestamp ? `${line.timestamp} ` : ''}${line.level ? `[${line.level}] ` : ''}${line.message}`);
    });

  program
    .command('teardown')
    .description("delete a preview label's deployments (safe to repeat)")
    .option('--label <label>', 'preview label')
    .option('--pr <number>', 'pull request number (label pr-<number>)')
    .option('--agent <name...>', 'only these agents')
    .option('--repo <host/owner/repo>', "only previews deployed from this repository (e.g. github.com/acme/agents); previews that record no repository are kept unless --agent names them")
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (options: { label?: string; pr?: string; agent?: string[]; repo?: string; dryRun?: boolean }) => {
      if (!options.label && !options.pr) throw new InputError('give --label or --pr', { field: '--label' });
      const repo = repoOption(options.repo);
      const reporter = reporterFor(globals());
      const resolved = resolvePreviewLabel(options.label, { number: options.pr }, '--label');
      if (resolved.note) reporter.warn(resolved.note);
      const platform = platformFor(globals(), reporter);
      const outcome = await teardownPreviews(platform, {
        label: resolved.label,
        agentNames: options.agent,
        repo,
        adoptUnproven: options.agent,
        reporter,
        signal,
        dryRun: options.dryRun,
      });
      reporter.flush();
      if (globals().json) emitJson(teardownSummary(outcome));
      else print(describeTeardown(outcome, options.dryRun));
      if (outcome.failed.length) exitCode = EXIT.failed;
    });

  program
    .command('sweep')
    .description("delete previews whose pull request is closed, asking each repository's forge (a dry run unless --delete)")
    .option('--delete', 'delete what the sweep finds (without it, only report)')
    .option('--dry-run', 'report only; the default')
    .option('--github-token <token>', 'GitHub token that can read pull requests (default GITHUB_TOKEN)')
    .option('--github-api-url <url>', 'GitHub API (default GITHUB_API_URL, else https://api.github.com)')
    .option('--gitea-url <url>', 'Gitea or Forgejo server (default GITEA_URL)')
    .option('--gitea-token <token>', 'Gitea token (default GITEA_TOKEN)')
    .option('--label-template <template>', 'label template of repositories without .github/agent-preview.yml', DEFAULT_LABEL_TEMPLATE)
    .action(async (options: { delete?: boolean; dryRun?: boolean; githubToken?: string; githubApiUrl?: string; giteaUrl?: string; giteaToken?: string; labelTemplate: string }) => {
      registerSecret(options.githubToken);
      registerSecret(options.giteaToken);
      if (options.delete && options.dryRun) throw new InputError('give --delete or --dry-run, not both', { field: '--delete' });
      resolvePreviewLabel(options.labelTemplate, { number: 1, branch: 'main', sha: '0000000' }, '--label-template');
      const tokens = forgeTokensFrom(options, io.env);
      if (!tokens.github && !tokens.gitea) {
        throw new InputError('the sweep asks the forge whether each pull request is closed: set GITHUB_TOKEN (or --github-token), or GITEA_URL and GITEA_TOKEN', { field: '--github-token' });
      }
      const reporter = reporterFor(globals());
      const platform = platformFor(globals(), reporter);
      const report = await sweepWithTokens(platform, tokens, {
        dryRun: !options.delete,
        defaultLabelTemplate: options.labelTemplate,
        signal,
        log: { info: (message) => reporter.info(message), warn: (message) => reporter.warn(message) },
      });
      reporter.flush();
      if (globals().json) emitJson(report);
      else print(formatSweepReport(report));
      if (report.failed.length) exitCode = EXIT.failed;
    });

  program
    .command('local-platform')
    .description('run the Agentex-compatible local platform until interrupted')
    .option('-p, --port <port>', 'port to listen on', String(DEFAULT_LOCAL_PORT))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--require-api-key <key>', 'reject requests without this x-api-key')
    .action(async (options: { port: string; host: string; requireApiKey?: string }) => {
      const port = Number.parseInt(options.port, 10);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`"${options.port}" is not a port number`, { field: '--port' });
      registerSecret(options.requireApiKey);
      const local = await startLocalPlatform({ port, host: options.host, apiKey: options.requireApiKey, log: (line: string) => io.stderr.write(`${redact(line)}\n`) });
      print(`local platform listening on ${local.url}`);
      print(`use it with: agent-preview --platform local --api-url ${local.url} deploy --pr 1 -m examples/hello-agent`);
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await local.close();
      print('local platform stopped');
    });

  program
    .command('demo')
    .description('the whole preview flow on the embedded local platform: pack, build, preview, visit, tear down')
    .option('-m, --manifest <path>', 'agent to demo', DEMO_AGENT)
    .option('--pr <number>', 'pull request number to preview', '1')
    .action(async (options: { manifest: string; pr: string }) => {
      exitCode = await demo(options, io, signal, reporterFor(globals()), print);
    });

  interface RunFlags extends WaitOptions {
    manifest: string[];
    reuse: boolean;
    buildArg?: string[];
    buildPlatform?: string;
    image?: string;
    repo?: string;
    preview?: boolean;
    label?: string;
    pr?: string;
    ttl?: string;
    environment?: string;
    wait?: boolean;
    previewUrl?: string;
  }

  async function runCommand(mode: RunMode, options: RunFlags): Promise<number> {
    const reporter = reporterFor(globals());
    const timeoutMs = parseDuration(options.timeout, '--timeout', { minMs: 1000, maxMs: 6 * 3_600_000 });
    const pollIntervalMs = parseDuration(options.pollInterval, '--poll-interval', { minMs: 100, maxMs: 600_000 });
    const buildArgs = parseBuildArgs(options.buildArg);
    let preview: { label: string; ttlMs: number } | undefined;
    if (mode === 'preview') {
      if (!options.label && !options.pr) throw new InputError('a preview needs --label or --pr', { field: '--label' });
      const resolved = resolvePreviewLabel(options.label, { number: options.pr }, '--label');
      if (resolved.note) reporter.warn(resolved.note);
      preview = { label: resolved.label, ttlMs: parseDuration(options.ttl ?? '8h', '--ttl', { minMs: 60_000, maxMs: 30 * 86_400_000 }) };
    }
    if (options.previewUrl) validateUrlTemplate(options.previewUrl, '--preview-url');
    const repo = repoOption(options.repo);
    const platform = platformFor(globals(), reporter);
    const image = validateImageInput(options.image, { name: platform.name, serverBuild: platform.capabilities.serverBuild }, '--image');
    const agents = await loadAgents(options.manifest, { environment: options.environment, requireEnvironment: mode !== 'build' });
    const results = await runAgents(platform, agents, {
      mode,
      reporter,
      signal,
      timeoutMs,
      pollIntervalMs,
      preview,
      wait: options.wait,
      urlTemplate: options.previewUrl,
      urlVariables: { number: options.pr },
      buildArgs,
      buildPlatform: options.buildPlatform,
      image,
      provenance: repo ? { repo: formatSourceRepo(repo) } : undefined,
      reuse: options.reuse,
    });
    reporter.flush();
    if (globals().json) emitJson(results);
    else for (const result of results) print(describeResult(result));
    return results.some((result) => result.status === 'failed') ? EXIT.failed : EXIT.ok;
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportFailure(err, io, signal);
  }
}

function reportFailure(err: unknown, io: CliIo, signal: AbortSignal): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
  const say = (text: string) => io.stderr.write(`${redact(text)}\n`);
  if (signal.aborted) {
    say('cancelled');
    return EXIT.cancelled;
  }
  if (err instanceof InputError) {
    say(`error: ${err.message}`);
    return EXIT.badInput;
  }
  if (err instanceof PhaseError) {
    say(`error: ${err.message}`);
    for (const line of err.logTail) say(`  ${line}`);
    return EXIT.failed;
  }
  if (err instanceof ApiError || err instanceof TimeoutError) {
    say(`error: ${err.message}`);
    return EXIT.failed;
  }
  say(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.failed;
}

function parseBuildArgs(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const args: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InputError(`"${pair}" is not KEY=VALUE`, { field: '--build-arg' });
    args[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return args;
}

export function describeResult(result: AgentResult): string {
  const build = result.buildId ? `build ${result.buildId}${result.buildReused ? ' (reused: context unchanged)' : ''}` : 'no build';
  switch (result.status) {
    case 'healthy':
      return `✔ ${result.agent}: ${result.previewLabel ? `preview ${result.previewLabel}` : 'deployment'} ${result.deploymentId} is healthy${result.url ? ` at ${result.url}` : ''}; ${build}`;
    case 'deployed':
      return `✔ ${result.agent}: deployment ${result.deploymentId} created (not waited on); ${build}`;
    case 'built':
      return `✔ ${result.agent}: ${build}`;
    default:
      return `✘ ${result.agent}: ${result.error ?? 'failed'}${result.logTail?.length ? `\n${result.logTail.map((line) => `    ${line}`).join('\n')}` : ''}`;
  }
}

function repoOption(text: string | undefined): SourceRepo | undefined {
  if (text === undefined) return undefined;
  const repo = parseSourceRepo(text);
  if (!repo) throw new InputError(`"${text}" is not host/owner/repo, e.g. github.com/acme/agents`, { field: '--repo' });
  return repo;
}

function teardownSummary(outcome: TeardownOutcome) {
  const ids = (list: Deployment[]) => list.map((deployment) => ({ id: deployment.id, agent: deployment.agentName }));
  return {
    label: outcome.label,
    deleted: ids(outcome.deleted),
    alreadyGone: ids(outcome.alreadyGone),
    wouldDelete: ids(outcome.wouldDelete),
    withoutProvenance: ids(outcome.withoutProvenance),
    otherRepos: outcome.otherRepos,
    failed: outcome.failed.map((entry) => ({ id: entry.deployment.id, agent: entry.deployment.agentName, error: entry.error })),
  };
}

function describeTeardown(outcome: TeardownOutcome, dryRun?: boolean): string {
  if (dryRun) return `dry run: ${outcome.wouldDelete.length} preview(s) of "${outcome.label}" would be deleted; nothing was deleted`;
  const parts = [`${outcome.deleted.length} deleted`, `${outcome.alreadyGone.length} already gone`];
  if (outcome.failed.length) parts.push(`${outcome.failed.length} failed`);
  if (outcome.otherRepos) parts.push(`${outcome.otherRepos} of other repositories left alone`);
  if (outcome.withoutProvenance.length) parts.push(`${outcome.withoutProvenance.length} recording no repository left alone`);
  return `previews of "${outcome.label}": ${parts.join(', ')}`;
}

function formatTable(deployments: Deployment[]): string {
  const rows = [
    ['ID', 'AGENT', 'STATUS', 'LABEL', 'EXPIRES', 'URL'],
    ...deployments.map((deployment) => [
      deployment.id,
      deployment.agentName ?? '',
      deployment.rawStatus,
      deployment.previewLabel ?? '',
      deployment.expiresAt ?? '',
      deployment.url ?? '',
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

/** The whole preview flow against an embedded local platform, for `npm start`. */
async function demo(
  options: { manifest: string; pr: string },
  io: CliIo,
  signal: AbortSignal,
  reporter: TerminalReporter,
  print: (text: string) => void,
): Promise<number> {
  const apiKey = `demo-${randomBytes(12).toString('hex')}`;
  registerSecret(apiKey);
  const agents = await loadAgents([options.manifest], { requireEnvironment: true });
  const { label, note } = resolvePreviewLabel(undefined, { number: options.pr }, '--pr');
  if (note) reporter.warn(note);
  const local = await startLocalPlatform({ apiKey, buildStepMs: 150, deployStepMs: 300 });
  try {
    reporter.info(`▶ started the local platform at ${local.url} (an in-memory Agentex v5 API)`);
    const platform = createPlatform({ platform: 'local', apiUrl: local.url, apiKey, env: io.env });
    const run = () =>
      runAgents(platform, agents, { mode: 'preview', reporter, signal, preview: { label, ttlMs: 3_600_000 }, pollIntervalMs: 250, timeoutMs: 120_000 });

    reporter.info(`\n▶ pull request #${options.pr} pushed: building and deploying preview "${label}"`);
    const first = await run();
    reporter.flush();
    for (const result of first) print(describeResult(result));
    if (first.some((result) => result.status !== 'healthy')) return EXIT.failed;

    for (const result of first) {
      if (!result.url) continue;
      const response = await fetch(result.url, { signal });
      const page = await response.text();
      const title = /<title>([^<]*)<\/title>/i.exec(page)?.[1] ?? '(no title)';
      print(`  GET ${result.url} → ${response.status} "${title}"`);
      if (!response.ok) return EXIT.failed;
    }

    reporter.info(`\n▶ pull request #${options.pr} pushed again with no change to the agent: the build is reused`);
    const second = await run();
    reporter.flush();
    for (const result of second) print(describeResult(result));
    if (second.some((result) => result.status !== 'healthy')) return EXIT.failed;

    reporter.info(`\n▶ pull request #${options.pr} closed: tearing down "${label}"`);
    const outcome = await teardownPreviews(platform, { label, reporter, signal });
    reporter.flush();
    print(describeTeardown(outcome));
    for (const result of second) {
      if (!result.url) continue;
      const response = await fetch(result.url, { signal });
      await response.body?.cancel();
      print(`  GET ${result.url} → ${response.status} (the preview is gone)`);
    }
    const builds = local.builds().length;
    print(`\ndone: ${builds} build(s) for ${first.length} agent(s) across two pushes; no previews left behind`);
    return outcome.failed.length ? EXIT.failed : EXIT.ok;
  } finally {
    await local.close();
  }
}
