import { createHmac } from 'node:crypto';
import { verifyGiteaSignature } from '../../../src/app/gitea-webhook.js';

const SECRET = 'whsec-unit-5b1e';
const BODY = Buffer.from('{"action":"closed","number":2}');
const hex = createHmac('sha256', SECRET).update(BODY).digest('hex');

describe('Gitea and Forgejo delivery signatures', () => {
  it('accepts the hex HMAC in any of the headers Gitea and Forgejo send', async () => {
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-gitea-signature': hex })).toBe(true);
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-forgejo-signature': hex.toUpperCase() })).toBe(true);
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-hub-signature-256': `sha256=${hex}` })).toBe(true);
  });

  it('refuses a missing, malformed, wrong or other-body signature', async () => {
    expect(await verifyGiteaSignature(SECRET, BODY, {})).toBe(false);
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-gitea-signature': hex.slice(2) })).toBe(false);
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-gitea-signature': 'g'.repeat(64) })).toBe(false);
    expect(await verifyGiteaSignature('other-secret', BODY, { 'x-gitea-signature': hex })).toBe(false);
    expect(await verifyGiteaSignature(SECRET, Buffer.from('{"action":"closed","number":3}'), { 'x-gitea-signature': hex })).toBe(false);
    // The Gitea header decides when present; a right signature elsewhere does not rescue a wrong one.
    expect(await verifyGiteaSignature(SECRET, BODY, { 'x-gitea-signature': '0'.repeat(64), 'x-hub-signature-256': `sha256=${hex}` })).toBe(false);
  });
});
