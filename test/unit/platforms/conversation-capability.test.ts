import { AstropodsPlatform } from '../../../src/platforms/astropods/astropods.js';
import { MutxPlatform } from '../../../src/platforms/mutx/mutx.js';
import { NullspacePlatform } from '../../../src/platforms/nullspace/nullspace.js';
import type { Platform } from '../../../src/platforms/platform.js';
import { clearSecrets } from '../../../src/secrets/redact.js';

// What each platform declares about talking to its previews: a `conversation` where the platform
// documents a way, otherwise `conversationUnsupported` saying what was looked for and where.
afterAll(() => clearSecrets());

const mutx = () => new MutxPlatform({ baseUrl: 'https://api.mutx.example', apiKey: 'mutx_live_capability', env: {} });
const nullspace = () => new NullspacePlatform({ baseUrl: 'https://api.nullspace.example', apiKey: 'ns_capability_key', env: {} });
const astropods = () => new AstropodsPlatform({ token: 'astro_capability_token', account: 'team', env: {} });

describe('conversation capability per platform', () => {
  it('Astropods talks through the deployment messaging sidecar', () => {
    const platform: Platform = astropods();
    expect(typeof platform.conversation?.open).toBe('function');
    expect(platform.conversationUnsupported).toBeUndefined();
  });

  it('MUTX says it has no route to message a deployed agent, cites the routes read, and points to the http: conversation', () => {
    const platform: Platform = mutx();
    expect(platform.conversation).toBeUndefined();
    expect(platform.conversationUnsupported).toMatch(/^MUTX documents no way to send a message to a deployed agent/);
    expect(platform.conversationUnsupported).toContain('mutx-dev/mutx-dev@abdc975 src/api/routes/');
    expect(platform.conversationUnsupported).toMatch(/preview-url template .* http: conversation in preview-smoke\.yaml/);
  });

  it('Nullspace says a service is the agent’s own server behind a signed URL it never keeps, and points to the http: conversation', () => {
    const platform: Platform = nullspace();
    expect(platform.conversation).toBeUndefined();
    expect(platform.conversationUnsupported).toMatch(/^Nullspace documents no way to send a message to a deployed agent/);
    expect(platform.conversationUnsupported).toMatch(/edge_token credential agent-preview never reads or stores \(docs\.ns\.rocks agents\/deployments/);
    expect(platform.conversationUnsupported).toMatch(/URL without a credential .* http: conversation in preview-smoke\.yaml/);
  });
});
