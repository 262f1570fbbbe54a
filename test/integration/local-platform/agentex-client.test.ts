import { stat } from 'node:fs/promises';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import type { Build, BuildRequest, Deployment } from '../../../src/platforms/platform.js';
import { makeArchive } from '../../support/archive.js';
import { ENVIRONMENTS, MANIFEST, until } from './http.js';

const KEY = 'sk-local-client-test-key';
let local: LocalPlatform;

beforeEach(async () => {
  local = await startLocalPlatform({ apiKey: KEY, accountId: 'acct-7', buildStepMs: 20, deployStepMs: 20 });
});
afterEach(async () => local.close());

function platform(): AgentexPlatform {
  return new AgentexPlatform({ baseUrl: local.url, apiKey: KEY, accountId: 'acct-7', name: 'local', deploymentsCarryUrl: true, retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

async function buildRequest(treeHash: string, dockerfile = 'FROM python:3.12\nRUN pip install agentex-sdk\n'): Promise<BuildRequest> {
  const archivePath = await makeArchive({ Dockerfile: dockerfile, 'project/acp.py': 'print("hi")\n' });
  return {
    agentName: 'api-agent',
    archivePath,
    archiveBytes: (await stat(archivePath)).size,
    treeHash,
    imageName: 'api-agent',
    imageTag: treeHash.slice(0, 12),
    buildArgs: { PY_VERSION: '3.12' },
    platform: 'linux/amd64',
    provenance: { commit: 'c0ffee', dirty: false, ref: 'refs/pull/5/head', repo: 'github.com/acme/bots', subpath: 'agents/api-agent' },
  };
}

describe('our Agentex client against the local platform', () => {
  it('builds, streams logs, deploys a preview, reads it and deletes it twice', async () => {
    const agentex = platform();
    const build = await agentex.createBuild(await buildRequest('tree-hash-one'));
    expect(build).toMatchObject({ phase: 'queued', agentName: 'api-agent', treeHash: 'tree-hash-one', sourceCommit: 'c0ffee', sourceRepo: 'github.com/acme/bots' });
    expect(local.builds()[0]).toMatchObject({
      account_id: 'acct-7',
      build_args: { PY_VERSION: '3.12' },
      platform: 'linux/amd64',
      source_dirty: false,
      source_subpath: 'agents/api-agent',
    });

    const lines: string[] = [];
    const cursor = await agentex.streamBuildLogs(build.id, (line) => lines.push(line));
    expect(cursor).toMatchObject({ ended: 'closed', lines: lines.length, lastEventId: String(lines.length) });
    expect(lines).toContain('#4 [1/1] RUN pip install agentex-sdk');
    expect((await agentex.getBuild(build.id)).phase).toBe('succeeded');
    expect((await agentex.findReusableBuild('api-agent', 'tree-hash-one'))?.id).toBe(build.id);

    const second = await agentex.createBuild(await buildRequest('tree-hash-two'));
    expect(second.agentId).toBe(build.agentId);

    const deployment = await agentex.createDeployment({
      agentName: 'api-agent',
      manifestText: MANIFEST,
      environmentText: ENVIRONMENTS,
      buildId: build.id,
      preview: { label: 'pr-5', expiresAt: new Date(Date.now() + 3_600_000) },
    });
    expect(deployment).toMatchObject({ phase: 'pending', previewLabel: 'pr-5', buildId: build.id, agentName: 'api-agent', namespace: 'team' });
    const healthy = await until<Deployment>(
      () => agentex.getDeployment(deployment.id),
      (current) => current.phase === 'healthy',
    );
    expect(healthy.url).toBe(`${local.url}/previews/${healthy.release}/`);
    expect(healthy.events.map((event) => event.reason)).toContain('Started');
    expect((await agentex.listDeployments({ previewLabel: 'pr-5' })).map((listed) => listed.id)).toEqual([deployment.id]);
    expect((await agentex.deploymentLogs(deployment.id)).map((line) => line.message)).toContain('INFO:     Application startup complete.');

    expect(await agentex.deleteDeployment(deployment.id)).toBe('deleted');
    expect(await agentex.deleteDeployment(deployment.id)).toBe('already-gone');
    expect(await agentex.deleteDeployment('dep_unknown')).toBe('already-gone');
    expect((await agentex.getDeployment(deployment.id)).phase).toBe('deleted');
  });

  it('learns the agent id after a refused agent_name, and reads the older build shape', async () => {
    await local.close();
    local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 20, legacyBuildShape: true });
    await platform().createBuild(await buildRequest('tree-a'));
    // A fresh client does not know the agent id: the server refuses agent_name, the client looks the id up.
    const build: Build = await platform().createBuild(await buildRequest('tree-b'));
    expect(build.id).toMatch(/^bld_/);
    expect(build.phase).toBe('queued');
    expect(local.builds()).toHaveLength(2);
    expect(new Set(local.builds().map((record) => record.agent_id)).size).toBe(1);
  });

  it('rides out faults: retried 503s and 429s, a lost create answer, a dropped log stream', async () => {
    const agentex = platform();
    local.faults.add({ route: 'builds.list', status: 429, retryAfterSeconds: 0, times: 2 });
    local.faults.add({ route: 'builds.create', status: 502, afterHandling: true });
    const build = await agentex.createBuild(await buildRequest('tree-faults', 'FROM x\nRUN a\nRUN b\nRUN c\n'));
    expect(local.builds()).toHaveLength(1);
    expect(build.id).toBe(local.builds()[0].id);

    local.faults.add({ route: 'builds.logs', dropStreamAfterLines: 3 });
    const lines: string[] = [];
    const dropped = await agentex.streamBuildLogs(build.id, (line) => lines.push(line));
    expect(dropped).toMatchObject({ ended: 'dropped', lines: 3, lastEventId: '3' });
    const rest = await agentex.streamBuildLogs(build.id, (line) => lines.push(line), { resume: dropped });
    expect(rest.ended).toBe('closed');
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.at(-1)).toMatch(/pushing .* done/);

    local.faults.add({ route: 'builds.get', status: 503, times: 2 });
    expect((await agentex.getBuild(build.id)).phase).toBe('succeeded');
    local.faults.add({ route: 'deployments.create', resetConnection: true });
    const deployment = await agentex.createDeployment({ agentName: 'api-agent', manifestText: MANIFEST, environmentText: ENVIRONMENTS, buildId: build.id });
    expect(local.deployments()).toHaveLength(1);
    expect(deployment.id).toBe(local.deployments()[0].id);
  });
});
