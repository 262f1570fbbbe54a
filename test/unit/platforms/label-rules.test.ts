import { resolvePreviewLabel } from '../../../src/pipeline/label.js';
import { labelRuleFor, PLATFORM_NAMES } from '../../../src/platforms/index.js';

// Each platform sanitises preview labels by its own rule; Agentex's 30-character cut is not applied to the others.
// A label that sanitising changed ends in a short hash of what it was (pipeline/label.ts), within the rule's length.
const BRANCH = 'Feature/Add the new retrieval tool for docs';

describe('preview label rules per platform', () => {
  it.each([
    ['agentex', 'feature-add-the-n-47a955aa7522'],
    ['local', 'feature-add-the-n-47a955aa7522'],
    ['mutx', 'feature-add-the-new-retrieval-tool-for-docs-b889fd257012'],
    ['nullspace', 'feature-add-the-new-retrieval-tool-for-docs-b889fd257012'],
    ['astropods', 'feature-add-the-new-retriev-60f84d94e21c'],
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
