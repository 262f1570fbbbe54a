import { stat } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentexPlatform } from '../../../src/platforms/agentex/agentex.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local-platform/index.js';
import type { BuildRequest } from '../../../src/platforms/platform.js';
import { makeArchive } from '../../support/archive.js';

const KEY = 'sk-upload-once-test-key';
let local: LocalPlatform;

beforeEach(async () => {
  // `strict`: agent_name creates the agent and is refused with a 409 once it exists (the newer API).
  local = await startLocalPlatform({ apiKey: KEY, buildStepMs: 10, deployStepMs: 10, agentNames: 'strict' });
});
afterEach(async () => local.close());

/** A new process: nothing learnt yet about agent ids. */
function freshClient(baseUrl = local.url): AgentexPlatform {
  return new AgentexPlatform({ baseUrl, apiKey: KEY, accountId: 'acct-1', name: 'local', retry: { minDelayMs: 1, maxDelayMs: 5 }, env: {} });
}

async function buildRequest(treeHash: string): Promise<BuildRequest> {
  const archivePath = await makeArchive({ Dockerfile: `FROM python:3.12\nRUN echo ${treeHash}\n`, 'project/acp.py': 'print("hi")\n' });
  return { agentName: 'mono-agent', archivePath, archiveBytes: (await stat(archivePath)).size, treeHash, imageName: 'mono-agent', imageTag: treeHash };
}

const uploads = () => local.requests.filter((entry) => entry.route === 'builds.create');

/**
 * Between the platform and the client: hides the agent's builds from the first `hideLists` build
 * listings (as if another run created the agent just after our look-up) and rewrites the platform's
 * 409 into another server's wording.
 */
async function racingProxy(options: { hideLists: number; refusal: { status: number; body: unknown } }): Promise<{ url: string; close(): Promise<void> }> {
  let hidden = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(`${local.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const listing = req.method === 'GET' && req.url?.startsWith('/v5/builds?');
      if ((listing && hidden < options.hideLists) || (req.method === 'POST' && answer.statusCode === 409)) {
        answer.resume();
        const refusal = listing ? { status: 200, body: { items: [], has_more: false, object: 'list' } } : options.refusal;
        if (listing) hidden++;
        res.writeHead(refusal.status, { 'content-type': 'application/json' }).end(JSON.stringify(refusal.body));
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('one upload per build on Agentex', () => {
  it('a new process with a changed tree looks the agent id up first and uploads the archive once', async () => {
    const first = await freshClient().createBuild(await buildRequest('tree-one'));
    expect(uploads()).toHaveLength(1);

    const second = await freshClient().createBuild(await buildRequest('tree-two'));
    expect(second.agentId).toBe(first.agentId);
    // Before: agent_name, a 409 after the whole archive was sent, then the archive again with agent_id.
    expect(uploads()).toHaveLength(2);
    expect(uploads().every((entry) => entry.status < 300)).toBe(true);
  });

  it('an agent created by another run after the look-up: a 409 in other words still falls back to agent_id', async () => {
    await freshClient().createBuild(await buildRequest('tree-one'));
    const proxy = await racingProxy({ hideLists: 2, refusal: { status: 409, body: { detail: 'Name is taken by agent agt_1; pick another or pass its id' } } });
    try {
      const build = await freshClient(proxy.url).createBuild(await buildRequest('tree-two'));
      expect(build.agentName).toBe('mono-agent');
      expect(local.builds().map((entry) => entry.working_tree_hash)).toEqual(expect.arrayContaining(['tree-one', 'tree-two']));
    } finally {
      await proxy.close();
    }
  });

  it('a validation error located at agent_name falls back too; one at another field is reported, not retried', async () => {
    await freshClient().createBuild(await buildRequest('tree-one'));
    const atName = await racingProxy({
      hideLists: 2,
      refusal: { status: 422, body: { detail: [{ loc: ['body', 'agent_name'], msg: 'must be unique in the account', type: 'value_error' }] } },
    });
    try {
      expect((await freshClient(atName.url).createBuild(await buildRequest('tree-two'))).agentName).toBe('mono-agent');
    } finally {
      await atName.close();
    }

    const elsewhere = await racingProxy({
      hideLists: 2,
      refusal: { status: 422, body: { detail: [{ loc: ['body', 'image_name'], msg: 'agent already exists with another image', type: 'value_error' }] } },
    });
    try {
      const before = uploads().length;
      await expect(freshClient(elsewhere.url).createBuild(await buildRequest('tree-three'))).rejects.toThrow(/HTTP 422: image_name: agent already exists/);
      expect(uploads().length - before).toBe(1);
    } finally {
      await elsewhere.close();
    }
  });
});
