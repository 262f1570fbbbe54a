import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appOptionsFromEnv } from '../../../src/app/config.js';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n';

describe('the app settings from the environment', () => {
  it('reads a GitHub App with an inline, escaped or base64 key', async () => {
    for (const key of [PEM, PEM.replace(/\n/g, '\\n'), Buffer.from(PEM).toString('base64')]) {
      const options = await appOptionsFromEnv({ APP_ID: '123', PRIVATE_KEY: key, WEBHOOK_SECRET: 's3cret', SGP_API_KEY: 'k' });
      expect(options).toMatchObject({ appId: '123', webhookSecret: 's3cret', port: 3000, githubHost: 'github.com', gitea: undefined, sweep: undefined });
      expect(options.privateKey).toContain('-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK');
    }
  });

  it('reads the key from PRIVATE_KEY_PATH, GHES from GHE_HOST, Gitea and the sweep', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ap-app-'));
    try {
      await writeFile(path.join(dir, 'key.pem'), PEM);
      const options = await appOptionsFromEnv({
        APP_ID: '9',
        PRIVATE_KEY_PATH: path.join(dir, 'key.pem'),
        WEBHOOK_SECRET: 'x',
        SGP_API_KEY: 'k',
        GHE_HOST: 'ghe.example',
        GITEA_URL: 'https://gitea.example',
        GITEA_TOKEN: 't',
        GITEA_WEBHOOK_SECRET: 'g',
        PORT: '8080',
        SWEEP_INTERVAL: '15m',
        PREVIEW_LABEL: 'br-{branch}',
      });
      expect(options).toMatchObject({
        privateKey: PEM,
        githubBaseUrl: 'https://ghe.example/api/v3',
        githubHost: 'ghe.example',
        gitea: { url: 'https://gitea.example', token: 't', webhookSecret: 'g' },
        port: 8080,
        sweep: { intervalMs: 900_000, dryRun: true },
        defaultLabelTemplate: 'br-{branch}',
      });
      expect(
        (await appOptionsFromEnv({ GITEA_URL: 'https://g', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 'g', SWEEP_INTERVAL: '1h', SWEEP_DRY_RUN: 'false', SGP_API_KEY: 'k' })).sweep,
      ).toEqual({ intervalMs: 3_600_000, dryRun: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses incomplete or unsafe settings up front', async () => {
    await expect(appOptionsFromEnv({})).rejects.toThrow(/nothing to serve/);
    await expect(appOptionsFromEnv({ APP_ID: '1' })).rejects.toThrow(/APP_ID and PRIVATE_KEY/);
    await expect(appOptionsFromEnv({ APP_ID: '1', PRIVATE_KEY: PEM })).rejects.toThrow(/WEBHOOK_SECRET/);
    await expect(appOptionsFromEnv({ GITEA_URL: 'https://g' })).rejects.toThrow(/together/);
    await expect(appOptionsFromEnv({ GITEA_URL: 'g.example', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 's' })).rejects.toThrow(/not an http/);
    await expect(appOptionsFromEnv({ APP_ID: '1', PRIVATE_KEY: 'nope', WEBHOOK_SECRET: 's' })).rejects.toThrow(/neither a PEM/);
    await expect(appOptionsFromEnv({ APP_ID: '1', PRIVATE_KEY_PATH: '/nonexistent/key.pem', WEBHOOK_SECRET: 's' })).rejects.toThrow(/ENOENT/);
    await expect(appOptionsFromEnv({ GITEA_URL: 'https://g', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 's', SWEEP_INTERVAL: '5s', SGP_API_KEY: 'k' })).rejects.toThrow(/too short/);
    await expect(appOptionsFromEnv({ GITEA_URL: 'https://g', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 's', PREVIEW_LABEL: 'pr-{nr}', SGP_API_KEY: 'k' })).rejects.toThrow(
      /unknown placeholder/,
    );
    await expect(appOptionsFromEnv({ GITEA_URL: 'https://g', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 's', PREVIEW_LABEL: 'preview', SGP_API_KEY: 'k' })).rejects.toThrow(
      /field "PREVIEW_LABEL": "preview" names no \{number\}, \{branch\} or \{sha\}/,
    );
  });

  it('refuses blank webhook secrets and warns about short ones', async () => {
    const app = { APP_ID: '1', PRIVATE_KEY: PEM, SGP_API_KEY: 'k' };
    const gitea = { GITEA_URL: 'https://g.example', GITEA_TOKEN: 't', SGP_API_KEY: 'k' };
    for (const blank of [' ', '\t\n', '   ']) {
      await expect(appOptionsFromEnv({ ...app, WEBHOOK_SECRET: blank })).rejects.toThrow(/field "WEBHOOK_SECRET": WEBHOOK_SECRET is blank/);
      await expect(appOptionsFromEnv({ ...gitea, GITEA_WEBHOOK_SECRET: blank })).rejects.toThrow(/field "GITEA_WEBHOOK_SECRET": GITEA_WEBHOOK_SECRET is blank/);
    }
    expect((await appOptionsFromEnv({ ...app, WEBHOOK_SECRET: 'a' })).warnings).toEqual([expect.stringMatching(/WEBHOOK_SECRET is shorter than 16 characters/)]);
    expect((await appOptionsFromEnv({ ...app, WEBHOOK_SECRET: 'a-long-random-webhook-secret' })).warnings).toEqual([]);
  });

  it('refuses to start without the platform key, naming the variable', async () => {
    const base = { GITEA_URL: 'https://g.example', GITEA_TOKEN: 't', GITEA_WEBHOOK_SECRET: 'a-long-random-webhook-secret' };
    await expect(appOptionsFromEnv(base)).rejects.toThrow(/field "SGP_API_KEY": no agentex platform key: set SGP_API_KEY/);
    await expect(appOptionsFromEnv({ ...base, SGP_API_KEY: '  ' })).rejects.toThrow(/set SGP_API_KEY/);
    await expect(appOptionsFromEnv({ ...base, AGENT_PREVIEW_PLATFORM: 'mutx' })).rejects.toThrow(/field "MUTX_API_KEY": no mutx platform key: set MUTX_API_KEY/);
    await expect(appOptionsFromEnv({ ...base, AGENT_PREVIEW_PLATFORM: 'mutx', MUTX_API_KEY: 'm' })).resolves.toMatchObject({ platformSettings: { platform: 'mutx' } });
    await expect(appOptionsFromEnv({ ...base, AGENT_PREVIEW_PLATFORM: 'local' })).resolves.toBeDefined();
    expect((await appOptionsFromEnv({ ...base, SGP_API_KEY: 'k', TEARDOWN_GRACE: '10s' })).teardownGraceMs).toBe(10_000);
  });
});
