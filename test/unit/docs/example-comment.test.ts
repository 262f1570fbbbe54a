// The README's example PR comment is what the action's renderer writes today (test/support/example-comment.ts
// says what is real in it). When the comment's format changes this fails; regenerate the README's block with
// UPDATE_DOCS=1 npm test -- test/unit/docs/example-comment.test.ts
import { exampleCommentBody, quotedForReadme } from '../../support/example-comment.js';
import { generatedBlock } from '../../support/generated-docs.js';

it("the README's example comment is the one the action renders for hello-agent's passing preview", async () => {
  const body = await exampleCommentBody();
  expect(body).toContain('[Visit preview](https://previews.example.com/hello-agent/pr-7-e77838bc6061/)');
  expect(body).toContain('- **hello-agent** ✅ 2/2 · 1.4 s');
  expect(body).toContain('💬 Talk to this preview yourself: `npx agent-preview --platform agentex chat --pr 7 --repo github.com/acme/agents');
  const { shown, expected } = await generatedBlock('README.md', 'example comment', 'test/unit/docs/example-comment.test.ts', quotedForReadme(body));
  expect(shown).toBe(expected);
});
