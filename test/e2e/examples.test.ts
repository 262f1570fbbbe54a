import { cp, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { parse } from 'yaml';
import { STICKY_MARKER } from '../../src/forge/comment.js';
import { renderUrlTemplate, validateUrlTemplate } from '../../src/pipeline/url.js';
import { HELLO_AGENT, REPO_ROOT } from '../support/agents.js';
import { usePreviewEnv } from '../support/preview-env.js';
import { exampleEvent, pullRequestEvent } from '../support/runner.js';
import { actionSteps, evaluate, readWorkflow, type ActionStep } from '../support/workflow.js';

type Json = Record<string, any>;

const GITHUB_EXAMPLES = path.join(REPO_ROOT, 'examples', 'workflows');
const GITEA_EXAMPLES = path.join(REPO_ROOT, 'examples', 'gitea', '.gitea', 'workflows');
const FORGEJO_EXAMPLES = path.join(REPO_ROOT, 'examples', 'forgejo', '.forgejo', 'workflows');
const OWN_WORKFLOWS = path.join(REPO_ROOT, '.github', 'workflows');

/** How each kind of workflow names this action: a tag on GitHub, an absolute URL on Gitea and Forgejo, the checkout in our own CI. */
const OURS = {
  github: /^agent-preview\/agent-preview@v0$/,
  gitea: /^https:\/\/github\.com\/agent-preview\/agent-preview@v0$/,
  own: /^\.\/$/,
};
const ANY_OF_OURS = (uses: string) => /(^|\/)agent-preview\/agent-preview@|^\.\/?$/.test(uses);

// Source: GitHub Docs, "Events that trigger workflows" (docs.github.com/en/actions/reference/events-that-trigger-workflows).
const PULL_REQUEST_TYPES = new Set([
  'assigned',
  'unassigned',
  'labeled',
  'unlabeled',
  'opened',
  'edited',
  'closed',
  'reopened',
  'synchronize',
  'converted_to_draft',
  'ready_for_review',
  'locked',
  'unlocked',
  'review_requested',
  'review_request_removed',
  'auto_merge_enabled',
  'auto_merge_disabled',
  'milestoned',
  'demilestoned',
  'enqueued',
  'dequeued',
]);
const EVENTS = new Set(['pull_request', 'pull_request_target', 'push', 'delete', 'workflow_dispatch', 'schedule', 'release']);
// Source: GitHub Docs, "Workflow syntax: permissions"; Gitea and Forgejo have no deployments or statuses scope.
const GITHUB_SCOPES = new Set([
  'actions',
  'checks',
  'contents',
  'deployments',
  'id-token',
  'issues',
  'discussions',
  'packages',
  'pages',
  'pull-requests',
  'statuses',
  'security-events',
]);
const GITEA_SCOPES = new Set(['actions', 'contents', 'issues', 'packages', 'pull-requests']);

const actionInputs = new Set(Object.keys((parse(await readFile(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as Json).inputs));

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).map((name) => path.join(dir, name));
}

const sets = [
  { kind: 'github' as const, files: await yamlFiles(GITHUB_EXAMPLES) },
  { kind: 'gitea' as const, files: [...(await yamlFiles(GITEA_EXAMPLES)), ...(await yamlFiles(FORGEJO_EXAMPLES))] },
  { kind: 'own' as const, files: await yamlFiles(OWN_WORKFLOWS) },
];

function problemsOf(workflow: Json, kind: 'github' | 'gitea' | 'own'): string[] {
  const problems: string[] = [];
  const triggers: Json =
    typeof workflow.on === 'string' ? { [workflow.on]: {} } : Array.isArray(workflow.on) ? Object.fromEntries(workflow.on.map((name: string) => [name, {}])) : (workflow.on ?? {});
  if (!Object.keys(triggers).length) problems.push('no `on:` triggers');
  for (const [event, filter] of Object.entries<Json | null>(triggers)) {
    if (!EVENTS.has(event)) problems.push(`unknown event ${event}`);
    for (const type of filter?.types ?? []) if (event.startsWith('pull_request') && !PULL_REQUEST_TYPES.has(type)) problems.push(`pull_request type ${type} does not exist`);
  }
  for (const [job, definition] of Object.entries<Json>(workflow.jobs ?? {})) {
    if (!definition['runs-on']) problems.push(`job ${job} has no runs-on`);
    if (!Array.isArray(definition.steps) || !definition.steps.length) problems.push(`job ${job} has no steps`);
  }
  const steps: ActionStep[] = actionSteps(workflow, ANY_OF_OURS);
  for (const step of steps) {
    if (!OURS[kind].test(step.uses)) problems.push(`job ${step.job} step ${step.index} uses ${step.uses}`);
    for (const key of Object.keys(step.with)) if (!actionInputs.has(key)) problems.push(`job ${step.job}: input ${key} is not in action.yml`);
  }
  if (kind !== 'own') {
    if (!steps.length) problems.push('does not use the action');
    const group = String(workflow.concurrency?.group ?? '');
    if (triggers.pull_request && !group.includes('github.event.pull_request.number')) problems.push('no per-PR concurrency group');
    if (!group) problems.push('no concurrency group');
    const scopes = Object.keys(workflow.permissions ?? {});
    if (!scopes.length) problems.push('no permissions');
    const allowed = kind === 'gitea' ? GITEA_SCOPES : GITHUB_SCOPES;
    for (const scope of scopes) if (!allowed.has(scope)) problems.push(`permission ${scope} is not a ${kind === 'gitea' ? 'Gitea' : 'GitHub'} scope`);
    if (triggers.pull_request && workflow.permissions?.['pull-requests'] !== 'write') problems.push('the comment needs pull-requests: write');
  }
  return problems;
}

describe('example and CI workflows', () => {
  it.each(sets.flatMap(({ kind, files }) => files.map((file) => [path.relative(REPO_ROOT, file), kind] as const)))(
    '%s parses, triggers on real events and passes only inputs action.yml declares',
    async (file, kind) => {
      const workflow = await readWorkflow(path.join(REPO_ROOT, file));
      expect(problemsOf(workflow, kind)).toEqual([]);
    },
  );

  it('there are GitHub examples for previews, teardown on close, push deploys and a monorepo, and one for each of Gitea and Forgejo', () => {
    expect(sets[0].files.map((file) => path.basename(file)).sort()).toEqual(['deploy.yml', 'monorepo.yml', 'preview.yml', 'teardown.yml']);
    expect(sets[1].files).toHaveLength(2);
  });

  it('the checks catch an input action.yml lacks, a made-up trigger type and a GitHub-only scope on Gitea', () => {
    const broken = {
      on: { pull_request: { types: ['opend'] } },
      concurrency: { group: 'x-${{ github.event.pull_request.number }}' },
      permissions: { 'pull-requests': 'write', deployments: 'write' },
      jobs: { a: { 'runs-on': 'ubuntu-latest', steps: [{ uses: 'https://github.com/agent-preview/agent-preview@v0', with: { 'api-token': 'x' } }] } },
    };
    expect(problemsOf(broken, 'gitea')).toEqual([
      'pull_request type opend does not exist',
      'job a: input api-token is not in action.yml',
      'permission deployments is not a Gitea scope',
    ]);
  });
});

/** Whether a workflow's `on.push` filter lets a push to `branch` through (GitHub's filter patterns: `*`, `**`, `!`). */
function pushRuns(workflow: Json, branch: string): boolean {
  const push = workflow.on?.push;
  if (push === undefined) return false;
  const branches: string[] | undefined = push?.branches;
  if (!branches) return !(push?.['branches-ignore'] ?? []).some((pattern: string) => picomatch.isMatch(branch, pattern));
  let runs = false;
  for (const pattern of branches) runs = pattern.startsWith('!') ? runs && !picomatch.isMatch(branch, pattern.slice(1)) : runs || picomatch.isMatch(branch, pattern);
  return runs;
}

describe('the examples do what their comments say', () => {
  it('deploy.yml runs on pushes to every branch: main deploys for real, the others build', async () => {
    const workflow = await readWorkflow(path.join(GITHUB_EXAMPLES, 'deploy.yml'));
    expect(['main', 'feature/faster-replies', 'fix-1'].map((branch) => pushRuns(workflow, branch))).toEqual([true, true, true]);
    expect(actionSteps(workflow, ANY_OF_OURS).map((step) => step.with['deploy-branches'])).toEqual(['main']);
  });

  it.each(['workflows/preview.yml', 'workflows/monorepo.yml', 'gitea/.gitea/workflows/agent-preview.yml', 'forgejo/.forgejo/workflows/agent-preview.yml'])(
    'examples/%s shows what gives an Agentex preview a link (preview-url) and where conversations with it come from',
    async (file) => {
      const text = await readFile(path.join(REPO_ROOT, 'examples', file), 'utf8');
      const [step] = actionSteps(await readWorkflow(path.join(REPO_ROOT, 'examples', file)), ANY_OF_OURS);
      expect(step.with['preview-url']).toBe('${{ vars.AGENT_PREVIEW_URL }}');
      expect(text).toMatch(/Agentex deployments carry no URL/);
      expect(text).toMatch(/preview-smoke\.yaml beside each manifest/);
      // The value the comment suggests for AGENT_PREVIEW_URL is a template the action takes.
      const suggested = /e\.g\. (\S+)/.exec(text)![1];
      validateUrlTemplate(suggested, 'preview-url');
      expect(renderUrlTemplate(suggested, { release: 'hello-agent-pr-2-b98c1c-f6dc' })).toBe('https://hello-agent-pr-2-b98c1c-f6dc.previews.example.com/');
    },
  );
});

describe('examples/workflows run unchanged through the runner harness against the local platform', () => {
  const API_KEY = 'sk-examples-Zr83HqLw02Tn';
  const TOKEN = 'ghs_examplesToken0123456789abcdefAB';
  const OWNER = 'Codertocat';
  const REPO = 'Hello-World';
  const env = usePreviewEnv({
    apiKey: API_KEY,
    token: TOKEN,
    repo: { owner: OWNER, name: REPO, defaultBranch: 'main' },
    // The platform is the example's own (agentex, the default), its key a secret the step's `with:` passes;
    // only its address points at the local platform, which speaks the same Agentex v5 API.
    setup: () => ({ platform: 'agentex', apiKey: '' }),
    // The examples' manifest.yaml at the repository root: a copy of the hello agent there.
    workspace: (dir) => cp(HELLO_AGENT, dir, { recursive: true }),
  });

  /** Runs each of the workflow's steps that use the action, with its `with:` evaluated as a runner would. */
  async function runWorkflow(file: string, event: Json, options: { vars?: Record<string, string>; env?: NodeJS.ProcessEnv } = {}) {
    const [step] = actionSteps(await readWorkflow(path.join(GITHUB_EXAMPLES, file)), ANY_OF_OURS);
    const secrets = { SGP_API_KEY: API_KEY, SGP_ACCOUNT_ID: 'acct-local' };
    const inputs = Object.fromEntries(Object.entries(step.with).map(([key, value]) => [key, evaluate(value, { secrets, vars: options.vars, github: { event, token: TOKEN } })]));
    return env.run(event, { MANIFEST: '', ...Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key.toUpperCase(), value])) }, { env: options.env });
  }

  it('deploy.yml: a push to another branch than main builds only; a push to main deploys for real', async () => {
    const push = (branch: string) => ({ ...exampleEvent('push'), ref: `refs/heads/${branch}` });
    const onPush = (branch: string) => ({ GITHUB_EVENT_NAME: 'push', GITHUB_REF: `refs/heads/${branch}`, GITHUB_SHA: 'f'.repeat(40) });
    const feature = await runWorkflow('deploy.yml', push('feature/faster-replies'), { env: onPush('feature/faster-replies') });
    expect(feature.code).toBe(0);
    expect(feature.outputs.status).toBe('built');
    const main = await runWorkflow('deploy.yml', push('main'), { env: onPush('main') });
    expect(main.code).toBe(0);
    expect(main.outputs.status).toBe('healthy');
    expect(env.local.deployments().filter((deployment) => !deployment.preview)).toHaveLength(1);
  });

  it('preview.yml deploys a preview, comments on the pull request and reports a deployment; teardown.yml removes it', async () => {
    const head = 'a'.repeat(40);
    env.forge.seedPullRequest(OWNER, REPO, { number: 2, headSha: head, headRef: 'changes', baseRef: 'main' });
    // The repository variable the example reads for the Agentex server: the local platform serves it too.
    const preview = await runWorkflow('preview.yml', pullRequestEvent('opened', head), { vars: { AGENTEX_BASE_URL: env.local.url } });
    expect(preview.log).not.toMatch(/::error::/);
    expect(preview.code).toBe(0);
    // hello-agent's preview-smoke.yaml was held with the preview.
    expect(preview.outputs.smoke).toBe('passed');
    expect(env.forge.comments(OWNER, REPO, 2)[0].body).toContain('‹ Hello, Ada! This reply comes from hello-agent.');
    // The label ends in the repository's identity hash (pipeline/label.ts).
    expect(preview.outputs).toMatchObject({ status: 'healthy', 'preview-label': expect.stringMatching(/^pr-2-[0-9a-f]{12}$/) });
    const [comment] = env.forge.comments(OWNER, REPO, 2);
    expect(comment.body).toContain(STICKY_MARKER);
    expect(comment.body).toContain('hello-agent');
    expect(env.forge.deployments(OWNER, REPO)).toHaveLength(1);
    // Agentex deployments carry no URL: the comment names the deployment and how to see its status.
    const id = preview.outputs['deployment-id'];
    expect(id).toBeTruthy();
    expect(comment.body.replace(/\\(.)/g, '$1')).toContain(
      `hello-agent: no link to open. Deployment ${id}; see its status with: npx agent-preview --platform agentex status --id ${id}`,
    );

    env.forge.closePullRequest(OWNER, REPO, 2, { merged: false });
    const teardown = await runWorkflow('teardown.yml', pullRequestEvent('closed', head));
    expect(teardown.code).toBe(0);
    expect(teardown.outputs.status).toBe('removed');
    expect(env.forge.comments(OWNER, REPO, 2)[0].body).toContain('Preview removed');
  });
});

describe("ci.yml's action job: the action from this checkout (`uses: ./`) against a local platform", () => {
  // The job's local platform takes no key, and the job gives the action no token.
  const env = usePreviewEnv({ apiKey: '', token: '', repo: { owner: 'agent-preview', name: 'agent-preview', defaultBranch: 'main' }, setup: () => ({ platformUrl: '' }) });

  it('previews examples/hello-agent to a healthy URL, then tears it down', async () => {
    const workflow = await readWorkflow(path.join(OWN_WORKFLOWS, 'ci.yml'));
    const steps = actionSteps(workflow, (uses) => uses === './');
    expect(steps.map((step) => step.with.mode)).toEqual(['preview', 'teardown']);
    const push = exampleEvent('push');
    const github = { event: push, run_id: '4242', run_attempt: '1', token: '' };
    const outputs: Record<string, string>[] = [];
    for (const step of steps) {
      // The job starts the local platform on port 4141; this one listens wherever it was given a port.
      const inputs = Object.fromEntries(
        Object.entries(step.with).map(([key, value]) => [key.toUpperCase(), evaluate(value, { secrets: {}, github }).replace('http://127.0.0.1:4141', env.local.url)]),
      );
      const run = await env.run(push, { MANIFEST: '', ...inputs }, { workspace: REPO_ROOT, env: { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main' } });
      expect(run.log).not.toMatch(/::error::/);
      expect(run.code).toBe(0);
      outputs.push(run.outputs);
    }
    expect(outputs[0]).toMatchObject({ status: 'healthy', 'preview-label': expect.stringMatching(/^ci-main-4242-1-[0-9a-f]{12}$/) });
    expect(outputs[1]).toMatchObject({ status: 'removed' });
    expect((await fetch(outputs[0]['preview-url'])).status).toBe(404);
  });
});
