import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { labelRuleFor, PLATFORM_NAMES } from '../../../src/platforms/index.js';

// Each platform sanitises preview labels by its own rule; Agentex's 30-character cut is not applied to the others.
const BRANCH = 'Feature/Add the new retrieval tool for docs';

describe('preview label rules per platform', () => {
  it.each([
    ['agentex', 'feature-add-the-new-retrieval'],
    ['local', 'feature-add-the-new-retrieval'],
    ['mutx', 'feature-add-the-new-retrieval-tool-for-docs'],
    ['nullspace', 'feature-add-the-new-retrieval-tool-for-docs'],
    ['astropods', 'feature-add-the-new-retrieval-tool-for-d'],
  ])('%s', (platform, expected) => {
    const resolved = resolvePreviewLabel('{branch}', { branch: BRANCH }, 'preview-label', labelRuleFor(platform));
    expect(resolved.label).toBe(expected);
    expect(resolved.note).toContain(labelRuleFor(platform).description);
  });

  it('every platform has a rule, and a plain pr-N label passes each unchanged', () => {
    for (const platform of PLATFORM_NAMES) expect(resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', labelRuleFor(platform))).toEqual({ label: 'pr-7' });
  });
});
