import { InputError } from '../../../src/errors.js';
import { labelBelongs, resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { parseSourceRepo } from '../../../src/pipeline/source-repo.js';
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
  const repo = parseSourceRepo('github.com/acme/agents')!;
  const mirror = parseSourceRepo('gitea.example.com/acme/agents')!;

  it('defaults to pr-<number>', () => {
    expect(resolvePreviewLabel(undefined, { number: 42 })).toMatchObject({ label: 'pr-42', legacyLabel: 'pr-42' });
    expect(resolvePreviewLabel(undefined, { number: 42 }).note).toBeUndefined();
  });

  it('carries the repository in a 48-bit hash: unique per repository and PR, stable across pushes, within 30 characters', () => {
    const seven = resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, repo);
    // The example docs/action.md and docs/ownership.md give.
    expect(seven.label).toBe('pr-7-e77838bc6061');
    expect(seven.legacyLabel).toBe('pr-7');
    expect(resolvePreviewLabel(undefined, { number: 7, sha: 'b'.repeat(40) }, 'preview-label', undefined, repo).label).toBe(seven.label);
    expect(resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, parseSourceRepo('GitHub.com/Acme/Agents')).label).toBe(seven.label);
    expect(resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, mirror).label).not.toBe(seven.label);
    expect(resolvePreviewLabel(undefined, { number: 8 }, 'preview-label', undefined, repo).label).not.toBe(seven.label);
  });

  it('hashes the sanitized label: characters the platform drops change nothing, so they buy no variations of the hash', () => {
    const plain = resolvePreviewLabel('pr-{number}', { number: 5 }, 'preview-label', undefined, repo).label;
    for (const template of ['pr-{number}!!', 'PR_{number}', '  pr-{number}  ', 'pr--{number}--']) {
      expect(resolvePreviewLabel(template, { number: 5 }, 'preview-label', undefined, repo).label).toBe(plain);
    }
  });

  it('knows the label the previous version made (6 hex digits over the raw template), so a close finds those previews too', () => {
    // Computed by the code before this change (git show 5a802a2:src/pipeline/label.ts).
    expect(resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, repo).shortHashLabel).toBe('pr-7-e77838');
    const perPush = resolvePreviewLabel('pr-{number}-{sha}', { number: 7, sha: 'abcdef1234' }, 'preview-label', undefined, repo);
    expect(perPush).toMatchObject({ shortHashLabel: 'pr-7-abcdef1-6eeb5c', shortHashPushSuffix: '-6eeb5c' });
  });

  it("refuses a repository's template that names no pull request, branch or commit, naming the field", () => {
    for (const literal of ['pr-5', 'preview', 'ci-4242-1']) {
      expect(() => resolvePreviewLabel(literal, { number: 5 }, 'preview-label', undefined, repo)).toThrow(InputError);
      expect(() => resolvePreviewLabel(literal, { number: 5 }, 'preview-label', undefined, repo)).toThrow(/field "preview-label".*names no \{number\}, \{branch\} or \{sha\}/);
    }
    // Without a repository (the CLI deploying by hand) a label may be given as it is.
    expect(resolvePreviewLabel('my-test', {}).label).toBe('my-test');
  });

  it('fills branch and a short sha, and notes a change', () => {
    const resolved = resolvePreviewLabel('{branch}-{sha}', { branch: 'Feature/Login', sha: 'ABCDEF1234567' });
    expect(resolved.label).toMatch(/^feature-l-[0-9a-f]{12}-abcdef1$/);
    expect(resolved.label.length).toBeLessThanOrEqual(30);
    expect(resolved.note).toContain(`"Feature/Login-ABCDEF1" became "${resolved.label}"`);
  });

  it('keeps labels apart that sanitizing or cutting would merge', () => {
    const slash = resolvePreviewLabel('{branch}', { branch: 'feature/a' }).label;
    const dash = resolvePreviewLabel('{branch}', { branch: 'feature-a' }).label;
    expect(dash).toBe('feature-a');
    expect(slash).toMatch(/^feature-a-[0-9a-f]{12}$/);
    expect(resolvePreviewLabel('{branch}', { branch: 'feature/a' }, 'preview-label', undefined, repo).label).not.toBe(
      resolvePreviewLabel('{branch}', { branch: 'feature-a' }, 'preview-label', undefined, repo).label,
    );
    const long = 'dependabot/npm_and_yarn/packages/some-library-4.17.21';
    const first = resolvePreviewLabel('{branch}', { branch: long }).label;
    const second = resolvePreviewLabel('{branch}', { branch: `${long.slice(0, -1)}2` }).label;
    expect(first).not.toBe(second);
    for (const label of [first, second]) expect(label.length).toBeLessThanOrEqual(30);
    expect(sanitizePreviewLabel(first)).toEqual({ label: first, changed: false });
  });

  it("under {sha}, every push of a PR has its own label, and only labels of exactly the PR's prefix and a commit belong to it", () => {
    const one = resolvePreviewLabel('pr-{number}-{sha}', { number: 7, sha: 'a'.repeat(40) }, 'preview-label', undefined, repo);
    const two = resolvePreviewLabel('pr-{number}-{sha}', { number: 7, sha: 'b'.repeat(40) }, 'preview-label', undefined, repo);
    const other = resolvePreviewLabel('pr-{number}-{sha}', { number: 8, sha: 'a'.repeat(40) }, 'preview-label', undefined, repo);
    expect(one.label).not.toBe(two.label);
    expect(one.perPush).toBe(true);
    expect(one.label).toBe(`${one.pushPrefix}-aaaaaaa`);
    expect(labelBelongs(two.label, one)).toBe(true);
    expect(labelBelongs(other.label, one)).toBe(false);
    const hash = one.pushPrefix!.slice(-12);
    for (const stranger of [`evil-${hash}`, `x-${one.pushPrefix}-aaaaaaa`, `${one.pushPrefix}-aaaaaaa-x`, `${one.pushPrefix}-zzzzzzz`, `pr-9-${hash}-aaaaaaa`]) {
      expect(labelBelongs(stranger, one)).toBe(false);
    }
  });

  it('under a {sha}-only template, pull requests still keep their pushes apart', () => {
    const seven = resolvePreviewLabel('{sha}', { number: 7, sha: 'a'.repeat(40) }, 'preview-label', undefined, repo);
    const eight = resolvePreviewLabel('{sha}', { number: 8, sha: 'b'.repeat(40) }, 'preview-label', undefined, repo);
    expect(seven.label).toMatch(/^[0-9a-f]{12}-aaaaaaa$/);
    expect(labelBelongs(eight.label, seven)).toBe(false);
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
