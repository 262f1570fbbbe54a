import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { copyHelloAgent, editFile } from '../../support/agents.js';
import { runCli } from '../../support/io.js';
import { useLocalPlatform } from '../../support/local.js';

// Issue 18: text from PR code (a build log) or from the platform must not reach the terminal as
// control sequences. OSC 52 writes the clipboard; CSI moves the cursor or recolours; C1 CSI (U+009B)
// does the same on terminals that read 8-bit controls.
const OSC52 = '\u001b]52;c;ZXZpbA==\u0007';
const CSI = '\u001b[2J\u001b[31m';
const C1_CSI = '\u009b6n';
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const API_KEY = 'sk-escapes-Hq3Lm8Vb2Zx';
const platform = useLocalPlatform(API_KEY);
const fast = ['--poll-interval', '0.1s', '--timeout', '60s'];

async function hostileAgent(): Promise<string> {
  const agent = await copyHelloAgent();
  await editFile(path.join(agent, 'Dockerfile'), (text) => `${text}\nRUN echo "${OSC52}${CSI}${C1_CSI}\rspoofed"\n`);
  return agent;
}

function expectNoControls(text: string): void {
  const found = CONTROLS.exec(text);
  expect(
    found
      ? `control U+${found[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${found.index}: ${JSON.stringify(text.slice(Math.max(0, found.index - 40), found.index + 20))}`
      : 'none',
  ).toBe('none');
}

describe('no control characters from a build log reach the terminal', () => {
  it('deploy, plain: the log line is shown without its escapes', async () => {
    const run = await runCli(['deploy', '-m', await hostileAgent(), '--pr', '3', ...fast], { env: platform.env });
    expect(run.code).toBe(0);
    expectNoControls(run.stderr);
    expectNoControls(run.stdout);
    // What is left of the line is still shown, so the developer sees that something was there.
    expect(run.stderr).toMatch(/RUN echo "\]52;c;ZXZpbA==\[2J\[31m6nspoofed"/);
  });

  it('deploy --json and logs --build, plain and --json', async () => {
    const deployed = await runCli(['deploy', '-m', await hostileAgent(), '--pr', '3', '--json', ...fast], { env: platform.env });
    expect(deployed.code).toBe(0);
    expectNoControls(deployed.stderr);
    expectNoControls(deployed.stdout);
    const [result] = JSON.parse(deployed.stdout);

    const plain = await runCli(['logs', '--build', result.buildId], { env: platform.env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('spoofed');
    expectNoControls(plain.stdout);

    const json = await runCli(['logs', '--build', result.buildId, '--json'], { env: platform.env });
    expect(json.code).toBe(0);
    // JSON escapes C0 as \u001b, which a consumer turns back into ESC; the strings carry none.
    expect(json.stdout).not.toMatch(/\\u00(0[0-8bcef]|1[0-9a-f])/i);
    expectNoControls(json.stdout);
    expect(JSON.parse(json.stdout).join('\n')).toContain('spoofed');
  });
});

describe('no control characters from a hostile platform reach the terminal', () => {
  let server: Server;
  let url: string;
  const hostile = `evil${OSC52}${CSI}${C1_CSI}`;

  beforeAll(async () => {
    // A platform answering with escapes in every string it controls: the threat is the platform itself.
    server = createServer((req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url?.startsWith('/v5/agentex/deployments?')) {
        return json(200, {
          object: 'list',
          has_more: false,
          items: [
            {
              id: 'dep_1',
              object: 'agentex_cloud_deploy',
              agent_name: hostile,
              status: `HEALTHY${CSI}`,
              preview: true,
              preview_label: 'pr-1',
              created_at: '2026-01-01T00:00:00Z',
              url: `http://x/${OSC52}`,
              deploy_events: [],
            },
          ],
        });
      }
      return json(404, { detail: `no such thing ${hostile}` });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([[[] as string[]], [['--json']]])('status rows %p', async (extra) => {
    const run = await runCli(['status', '--pr', '1', ...extra], { env: { SGP_API_KEY: API_KEY, SGP_ACCOUNT_ID: 'acct', SGP_CLIENT_BASE_URL: url } });
    expect(`${run.code} ${run.stderr}`).toBe('0 ');
    expect(run.stdout).toContain('evil]52;c;ZXZpbA==');
    expectNoControls(run.stdout);
  });

  it.each([[[] as string[]], [['--json']]])('platform errors %p', async (extra) => {
    const run = await runCli(['status', '--id', 'dep_2', ...extra], { env: { SGP_API_KEY: API_KEY, SGP_ACCOUNT_ID: 'acct', SGP_CLIENT_BASE_URL: url } });
    expect(run.code).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toContain('no such thing evil');
    expectNoControls(run.stdout);
    expectNoControls(run.stderr);
  });
});
