import { InputError } from '../../../src/errors.js';
import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { sanitizePreviewLabel } from '../../../src/platforms/agentex/label.js';

describe('sanitizePreviewLabel', () => {
  it.each([
    ['pr-12', 'pr-12', false],
    ['PR-12', 'pr-12', true],
    ['feature/Add_Tools!!', 'feature-add-tools', true],
    ['--edge--', 'edge', true],
    ['a  b\tc', 'a-b-c', true],
    ['é-unicode-ü', 'unicode', true],
  ])('%s → %s', (input, label, changed) => {
    expect(sanitizePreviewLabel(input)).toEqual({ label, changed });
  });

  it('cuts to 30 characters without leaving a trailing hyphen', () => {
    const { label } = sanitizePreviewLabel('abcdefghijklmnopqrstuvwxyz012-456789');
    expect(label).toBe('abcdefghijklmnopqrstuvwxyz012');
    expect(label.length).toBeLessThanOrEqual(30);
    expect(sanitizePreviewLabel('x'.repeat(45)).label).toBe('x'.repeat(30));
  });
});

describe('resolvePreviewLabel', () => {
  it('defaults to pr-<number>', () => {
    expect(resolvePreviewLabel(undefined, { number: 42 })).toEqual({ label: 'pr-42' });
  });

  it('fills branch and a short sha, and notes a change', () => {
    const resolved = resolvePreviewLabel('{branch}-{sha}', { branch: 'Feature/Login', sha: 'ABCDEF1234567' });
    expect(resolved.label).toBe('feature-login-abcdef1');
    expect(resolved.note).toContain('"Feature/Login-ABCDEF1" became "feature-login-abcdef1"');
  });

  it('rejects a label that sanitizes to nothing, naming the field', () => {
    expect(() => resolvePreviewLabel('***', {}, '--label')).toThrow(InputError);
    expect(() => resolvePreviewLabel('***', {}, '--label')).toThrow(/field "--label".*sanitizes to an empty label/);
  });

  it('rejects unknown placeholders and missing values', () => {
    expect(() => resolvePreviewLabel('pr-{nr}', { number: 1 })).toThrow(/unknown placeholder \{nr\}/);
    expect(() => resolvePreviewLabel(undefined, {})).toThrow(/needs \{number\}/);
  });
});
