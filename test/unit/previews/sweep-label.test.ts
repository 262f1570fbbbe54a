import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { parseSourceRepo } from '../../../src/pipeline/source-repo.js';
import { formatSweepReport, pullNumberOfLabel } from '../../../src/previews/sweep.js';

describe('the pull request a preview label names', () => {
  it('inverts the template exactly as the action fills it in', () => {
    expect(pullNumberOfLabel('pr-5')).toBe(5);
    expect(pullNumberOfLabel('pr-1234', 'pr-{number}')).toBe(1234);
    expect(pullNumberOfLabel('review-7-app', 'Review_{number}_APP')).toBe(7);
    expect(pullNumberOfLabel('v2-pr-12', 'v2-pr-{number}')).toBe(12);
  });

  it("reads this version's labels, which carry the repository's hash, under {number} and {sha} templates", () => {
    const repo = parseSourceRepo('github.com/acme/agents')!;
    const other = parseSourceRepo('github.com/acme/mirror')!;
    const label = resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', undefined, repo).label;
    expect(pullNumberOfLabel(label, undefined, repo)).toBe(7);
    expect(pullNumberOfLabel(label, undefined, other)).toBeUndefined();
    const perPush = resolvePreviewLabel('pr-{number}-{sha}', { number: 12, sha: '1234567abc' }, 'preview-label', undefined, repo).label;
    expect(pullNumberOfLabel(perPush, 'pr-{number}-{sha}', repo)).toBe(12);
    expect(pullNumberOfLabel(perPush, 'pr-{number}-{sha}', other)).toBeUndefined();
  });

  it('names none when the label does not come from the template', () => {
    expect(pullNumberOfLabel('pr-5', 'review-{number}')).toBeUndefined();
    expect(pullNumberOfLabel('pr-5x')).toBeUndefined();
    expect(pullNumberOfLabel('main')).toBeUndefined();
    expect(pullNumberOfLabel('feature-5', '{branch}')).toBeUndefined();
    expect(pullNumberOfLabel('pr-5-abcdef0', 'pr-{number}-{sha}')).toBeUndefined();
  });

  it('reports each preview on a line and a summary', () => {
    const text = formatSweepReport({
      dryRun: true,
      examined: 2,
      deleted: [],
      wouldDelete: [{ deploymentId: 'dep_1', label: 'pr-5', agent: 'bot', repo: 'github.com/a/b', pullNumber: 5, reason: 'pull request #5 is closed' }],
      kept: [{ deploymentId: 'dep_2', label: 'pr-6', reason: 'nothing records which repository deployed it' }],
      failed: [],
    });
    expect(text.split('\n')).toEqual([
      'would delete dep_1 pr-5 (bot) github.com/a/b: pull request #5 is closed',
      'kept dep_2 pr-6: nothing records which repository deployed it',
      'dry run: 2 previews examined, 1 would be deleted, 1 kept, 0 failed',
    ]);
  });
});
