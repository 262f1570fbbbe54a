import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { labelRuleFor, PLATFORM_NAMES } from '../../../src/platforms/index.js';

// Each platform sanitises preview labels by its own rule; Agentex's 30-character cut is not applied to the others.
// A label that sanitising changed ends in a short hash of what it was (pipeline/label.ts), within the rule's length.
const BRANCH = 'Feature/Add the new retrieval tool for docs';

describe('preview label rules per platform', () => {
  it.each([
    ['agentex', 'feature-add-the-new-ret-d775f8'],
    ['local', 'feature-add-the-new-ret-d775f8'],
    ['mutx', 'feature-add-the-new-retrieval-tool-for-docs-d775f8'],
    ['nullspace', 'feature-add-the-new-retrieval-tool-for-docs-d775f8'],
    ['astropods', 'feature-add-the-new-retrieval-too-d775f8'],
  ])('%s', (platform, expected) => {
    const resolved = resolvePreviewLabel('{branch}', { branch: BRANCH }, 'preview-label', labelRuleFor(platform));
    expect(resolved.label).toBe(expected);
    expect(resolved.note).toContain(labelRuleFor(platform).description);
  });

  it('every platform has a rule, and a plain pr-N label passes each unchanged', () => {
    for (const platform of PLATFORM_NAMES) {
      const resolved = resolvePreviewLabel(undefined, { number: 7 }, 'preview-label', labelRuleFor(platform));
      expect(resolved.label).toBe('pr-7');
      expect(resolved.note).toBeUndefined();
    }
  });
});
