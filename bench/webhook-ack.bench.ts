// Acknowledgement latency of the webhook app: 100 concurrent signed `pull_request.closed` deliveries
// on loopback, round after round, against a bare Node HTTP server that reads the body and answers
// 202, with the same client (in its own process, as GitHub's senders are) and the rounds
// alternating so drift hits both. The app runs as it does
// in production: signatures checked over the raw body, Probot's parsing, the teardown queued in the
// background (where it lists previews on a local platform in another process and reads the forge,
// so the background work competes with the acknowledgements as it would in production).
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { startAppServer } from '../src/app/server.js';
import { githubHeaders, giteaHeaders, giteaPullRequestClosed, type Json } from '../test/integration/app/fixtures.js';
import { startTestForge } from '../test/support/forge/server.js';
import { machine, percentile, report } from './support.js';

const CONCURRENCY = 100;

interface Delivery {
  path: string;
  body: string;
  headers: Record<string, string>;
}
const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS ?? 20);
const SECRET = 'whsec-bench-3b9e2f';
const GITEA_SECRET = 'whsec-bench-gitea-7c1d0a';
const TOKEN = 'ghs_benchToken0123456789abcdef';

if (process.env.BENCH_WEBHOOK_CLIENT) {
  await runClient();
  process.exit(0);
}

async function runClient(): Promise<void> {
  // The forges' APIs live here too: this process plays GitHub and Gitea, senders and APIs both.
  const github = await startTestForge({ flavor: 'github', token: TOKEN });
  const gitea = await startTestForge({ flavor: 'gitea', token: TOKEN });
  github.seedRepo('Codertocat', 'Hello-World');
  gitea.seedRepo('gitea-org', 'agents');
  // The app asks the forge whether each PR is closed before tearing down: every numbered PR is.
  for (let number = 1; number <= 4 * ROUNDS * CONCURRENCY; number++) {
    github.seedPullRequest('Codertocat', 'Hello-World', { number, headSha: 'a'.repeat(40), headRef: `branch-${number}`, state: 'closed' });
    gitea.seedPullRequest('gitea-org', 'agents', { number, headSha: 'c'.repeat(40), headRef: `branch-${number}`, state: 'closed' });
  }
  process.stdout.write(`${JSON.stringify({ githubApi: github.apiUrl, giteaUrl: gitea.url })}\n`);
  const dispatcher = new Agent({ connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
  for await (const line of createInterface({ input: process.stdin })) {
    const { base, deliveries } = JSON.parse(line) as { base: string; deliveries: Delivery[] };
    const results = await Promise.all(
      deliveries.map(async (delivery) => {
        const started = process.hrtime.bigint();
        const response = await request(`${base}${delivery.path}`, { method: 'POST', body: delivery.body, headers: delivery.headers, dispatcher });
        await response.body.text();
        return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: response.statusCode };
      }),
    );
    process.stdout.write(`${JSON.stringify({ ms: results.map((r) => r.ms), statuses: results.map((r) => r.status) })}\n`);
  }
  await dispatcher.close();
  await github.close();
  await gitea.close();
}

console.log(`machine: ${machine()}`);
const platform = spawn(process.execPath, ['dist/cli/index.js', 'local-platform', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const platformUrl = await new Promise<string>((resolve, reject) => {
  createInterface({ input: platform.stdout! }).on('line', (line) => {
    const match = /listening on (\S+)/.exec(line);
    if (match) resolve(match[1]);
  });
  platform.on('exit', (code) => reject(new Error(`local platform exited ${code}`)));
});
const client = spawn(process.execPath, [process.argv[1]], { env: { ...process.env, BENCH_WEBHOOK_CLIENT: '1' }, stdio: ['pipe', 'pipe', 'inherit'] });
const replies = createInterface({ input: client.stdout! });
const pendingReplies: ((line: string) => void)[] = [];
replies.on('line', (line) => pendingReplies.shift()?.(line));
const nextReply = () => new Promise<string>((resolve) => pendingReplies.push(resolve));
const forges = JSON.parse(await nextReply()) as { githubApi: string; giteaUrl: string };

const app = await startAppServer({
  githubToken: TOKEN,
  webhookSecret: SECRET,
  githubBaseUrl: forges.githubApi,
  gitea: { url: forges.giteaUrl, token: TOKEN, webhookSecret: GITEA_SECRET },
  platformSettings: { platform: 'local', apiUrl: platformUrl },
  env: {},
  logStream: { write: () => true },
  retry: { attempts: 1 },
});
const bare: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"accepted":true}');
  });
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

// Every delivery is prepared (body, distinct delivery id, signature) before any clock starts.
// GitHub's own example (run from the repository root, as `npm run bench` does).
const examples = JSON.parse(await readFile('node_modules/@octokit/webhooks-examples/api.github.com/index.json', 'utf8')) as { name: string; examples: Json[] }[];
const githubPayload = examples.find((entry) => entry.name === 'pull_request')!.examples.find((example) => example.action === 'closed' && example.installation)!;
let serial = 0;
function githubDelivery(): Delivery {
  const number = ++serial;
  const payload = { ...githubPayload, number, pull_request: { ...githubPayload.pull_request, number } };
  const body = JSON.stringify(payload);
  return { path: '/api/github/webhooks', body, headers: githubHeaders('pull_request', body, SECRET) };
}
function giteaDelivery(): Delivery {
  const number = ++serial;
  const body = JSON.stringify(giteaPullRequestClosed(forges.giteaUrl, 'gitea-org', 'agents', number, { ref: `branch-${number}`, sha: 'c'.repeat(40) }));
  return { path: '/api/gitea/webhooks', body, headers: giteaHeaders('pull_request', body, GITEA_SECRET) };
}

const statuses = new Map<string, number>();

/**
 * The client runs in a child process (this same script, BENCH_WEBHOOK_CLIENT set): it sends each
 * round's deliveries all at once and answers with each one's latency, from send to the whole
 * response read, and its status.
 */
async function round(base: string, deliveries: Delivery[], tally: string): Promise<number[]> {
  const reply = nextReply();
  client.stdin!.write(`${JSON.stringify({ base, deliveries })}\n`);
  const { ms, statuses: codes } = JSON.parse(await reply) as { ms: number[]; statuses: number[] };
  for (const code of codes) statuses.set(`${tally} ${code}`, (statuses.get(`${tally} ${code}`) ?? 0) + 1);
  return ms;
}

async function compare(door: string, make: () => Delivery): Promise<void> {
  const batch = () => Array.from({ length: CONCURRENCY }, make);
  for (let warm = 0; warm < 3; warm++) {
    await round(app.url, batch(), `${door} warm-up app`);
    await round(bareUrl, batch(), `${door} warm-up bare`);
  }
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let index = 0; index < ROUNDS; index++) {
    // Alternate which server goes first, so neither always meets the other's leftovers.
    const order = index % 2 === 0 ? (['app', 'bare'] as const) : (['bare', 'app'] as const);
    for (const which of order) {
      if (which === 'app') ours.push(...(await round(app.url, batch(), `${door} app`)));
      else baseline.push(...(await round(bareUrl, batch(), `${door} bare`)));
    }
  }
  for (const p of [50, 99]) {
    const value = percentile(ours, p);
    report({
      bench: 'webhook app',
      metric: `${door} acknowledgement p${p}, ${CONCURRENCY} concurrent signed deliveries`,
      ours: value,
      baseline: percentile(baseline, p),
      unit: 'ms',
      goal: p === 99 ? 'p99 under 50 ms' : 'none (reported)',
      met: p === 99 ? value < 50 : true,
    });
  }
}

try {
  await compare('GitHub', githubDelivery);
  await compare('Gitea', giteaDelivery);
  const counts = [...statuses].map(([key, count]) => `${key}: ${count}`).join(', ');
  console.log(`responses: ${counts}`);
  const refused = [...statuses].filter(([key]) => !/ 20[02]$/.test(key));
  if (refused.length) throw new Error(`some deliveries were not accepted: ${refused.map(([key, count]) => `${key} ×${count}`).join(', ')}`);
  // The background teardowns of every delivery finish before the process ends.
  await app.idle();
} finally {
  client.stdin!.end();
  await app.close();
  await new Promise((resolve) => bare.close(resolve));
  platform.kill();
}
