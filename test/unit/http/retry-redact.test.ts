import { backoffDelay, parseRetryAfter } from '../../../src/http/client.js';
import { createPlatform } from '../../../src/platforms/index.js';
import { clearSecrets, redact, registerSecret, urlCarriesCredential } from '../../../src/secrets/redact.js';

describe('retry timing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter under a ceiling', () => {
    const policy = { minDelayMs: 200, maxDelayMs: 5000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(100);
    expect(backoffDelay(1, policy, () => 1)).toBe(200);
    expect(backoffDelay(4, policy, () => 1)).toBe(1600);
    expect(backoffDelay(12, policy, () => 1)).toBe(5000);
    const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(3, policy)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('redaction', () => {
  afterEach(() => clearSecrets());

  it('masks registered secrets, also URL-encoded and base64', () => {
    registerSecret('sk-live-Zx9/q+');
    const text = `key sk-live-Zx9/q+ enc ${encodeURIComponent('sk-live-Zx9/q+')} b64 ${Buffer.from('sk-live-Zx9/q+').toString('base64')}`;
    expect(redact(text)).toBe('key *** enc *** b64 ***');
  });

  it('does not mask a value a common word long or shorter: WEBHOOK_SECRET=short leaves "shorter" readable', () => {
    registerSecret('short');
    registerSecret('hunter2');
    expect(redact('WEBHOOK_SECRET is shorter than 16 characters; hunter2')).toBe('WEBHOOK_SECRET is shorter than 16 characters; hunter2');
    registerSecret('k3y-8chr');
    expect(redact('key k3y-8chr')).toBe('key ***');
  });

  it("the local platform's placeholder key is no secret: lines naming the local-platform command stay readable", () => {
    createPlatform({ platform: 'local', env: {} });
    expect(redact('start it with `agent-preview local-platform`')).toBe('start it with `agent-preview local-platform`');
  });

  it('masks credentials carried in URLs', () => {
    expect(redact('see https://svc.example/p?edge_token=abc123&x=1')).toBe('see https://svc.example/p?edge_token=***&x=1');
    expect(redact('https://user:pw@host/x')).toBe('https://***@host/x');
    expect(urlCarriesCredential('https://svc.example/?X-Amz-Signature=ff')).toBe(true);
    expect(urlCarriesCredential('https://svc.example/previews/a/')).toBe(false);
  });
});
