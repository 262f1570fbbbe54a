import { agentNameOfManifest, DEFAULT_REPO_CONFIG, parseRepoConfig, parseRepoConfigText } from '../../../src/previews/repo-config.js';
import { InputError } from '../../../src/errors.js';

describe('.github/agent-preview.yml', () => {
  it('defaults to pr-{number} on the app platform with every agent', () => {
    expect(parseRepoConfig(null)).toEqual({ labelTemplate: 'pr-{number}', manifests: [] });
    expect(parseRepoConfigText(undefined)).toBe(DEFAULT_REPO_CONFIG);
    expect(parseRepoConfig({})).toEqual({ labelTemplate: 'pr-{number}', platform: undefined, manifests: [] });
  });

  it('reads preview-label, platform and manifests', () => {
    const text = 'preview-label: review-{branch}\nplatform: local\nmanifest:\n  - agents/a/manifest.yaml\n  - agents/b/manifest.yaml\n';
    expect(parseRepoConfigText(text)).toEqual({ labelTemplate: 'review-{branch}', platform: 'local', manifests: ['agents/a/manifest.yaml', 'agents/b/manifest.yaml'] });
    expect(parseRepoConfig({ manifest: 'a.yaml, b.yaml' }).manifests).toEqual(['a.yaml', 'b.yaml']);
  });

  it('keeps unset options from the base', () => {
    const base = { labelTemplate: '{branch}', platform: 'local', manifests: ['m.yaml'] };
    expect(parseRepoConfig(null, base)).toBe(base);
    expect(parseRepoConfig({ platform: 'agentex' }, base)).toEqual({ labelTemplate: '{branch}', platform: 'agentex', manifests: ['m.yaml'] });
  });

  it('refuses wrong shapes with the option named', () => {
    expect(() => parseRepoConfig(['x'])).toThrow(InputError);
    expect(() => parseRepoConfig({ 'preview-label': 5 })).toThrow(/preview-label must be a string/);
    expect(() => parseRepoConfig({ manifest: { a: 1 } })).toThrow(/manifest must be a path or a list/);
    expect(() => parseRepoConfigText('a: [')).toThrow(/not valid YAML/);
  });

  it('refuses a label that is the same for every pull request, and an unknown platform, naming the file and the field', () => {
    expect(() => parseRepoConfigText('preview-label: "pr-5"\n')).toThrow(/\.github\/agent-preview\.yml, field "preview-label": "pr-5" names no \{number\}, \{branch\} or \{sha\}/);
    expect(() => parseRepoConfigText('platform: vercel\n')).toThrow(/\.github\/agent-preview\.yml: platform.*unknown platform "vercel"/);
    expect(parseRepoConfigText('preview-label: "ci-{sha}"\n').labelTemplate).toBe('ci-{sha}');
  });

  it('reads the agent name of a manifest', () => {
    expect(agentNameOfManifest('agent:\n  name: hello-agent\n')).toBe('hello-agent');
    expect(agentNameOfManifest('agent: {}\n')).toBeUndefined();
    expect(agentNameOfManifest(':::')).toBeUndefined();
  });
});
