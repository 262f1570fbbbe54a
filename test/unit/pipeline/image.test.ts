import { InputError } from '../../../src/errors.js';
import { resolveImage, validateImageInput } from '../../../src/pipeline/image.js';

describe('resolveImage', () => {
  it.each([
    ['ghcr.io/acme/support-agent:3f2a1c0', { name: 'ghcr.io/acme/support-agent', tag: '3f2a1c0' }],
    ['localhost:5000/agent:pr-12', { name: 'localhost:5000/agent', tag: 'pr-12' }],
    ['agent:latest', { name: 'agent', tag: 'latest' }],
    ['registry.example.com/team/{agent}:v1.2', { name: 'registry.example.com/team/hello-agent', tag: 'v1.2' }],
  ])('reads %s', (text, expected) => {
    expect(resolveImage(text, 'hello-agent')).toEqual(expected);
  });

  it.each([
    ['ghcr.io/acme/agent', /has no tag/],
    ['localhost:5000/agent', /has no tag/],
    ['ghcr.io/acme/agent@sha256:' + 'a'.repeat(64), /pins a digest/],
    ['ghcr.io/Acme/Agent:v1', /not an image name/],
    ['agent:-bad', /not an image tag/],
    ['agent:' + 'x'.repeat(129), /not an image tag/],
  ])('refuses %s with the reason', (text, reason) => {
    expect(() => resolveImage(text, 'a')).toThrow(reason);
    try {
      resolveImage(text, 'a', '--image');
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).field).toBe('--image');
    }
  });
});

describe('validateImageInput', () => {
  it('is nothing when not given', () => {
    expect(validateImageInput(undefined, { name: 'mutx', serverBuild: false })).toBeUndefined();
    expect(validateImageInput('  ', { name: 'agentex', serverBuild: true })).toBeUndefined();
  });

  it('refuses an image for a platform that builds it', () => {
    expect(() => validateImageInput('ghcr.io/acme/agent:v1', { name: 'agentex', serverBuild: true })).toThrow(/agentex builds the image/);
  });

  it('refuses placeholders other than {agent}', () => {
    expect(() => validateImageInput('ghcr.io/acme/agent:{sha}', { name: 'mutx', serverBuild: false })).toThrow(/unknown placeholder \{sha\}/);
  });

  it('keeps the template for each agent to fill in', () => {
    expect(validateImageInput(' ghcr.io/acme/{agent}:v1 ', { name: 'astropods', serverBuild: false })).toBe('ghcr.io/acme/{agent}:v1');
  });
});
