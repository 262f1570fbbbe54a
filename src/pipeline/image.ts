import { InputError } from '../errors.js';

export interface ImageReference {
  name: string;
  tag: string;
}

// Docker's reference grammar, as far as a name and a tag go: an optional registry host (with a
// port), then lowercase path components; the tag is at most 128 word characters, dots and dashes.
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const NAME = new RegExp(`^${HOST}?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * A pushed image, `name:tag`, for platforms that deploy images rather than build them. `{agent}`
 * in the text is filled with the agent's name, so one input serves every agent of a monorepo.
 */
export function resolveImage(template: string, agentName: string, field = 'image'): ImageReference {
  const text = template.trim().replaceAll('{agent}', agentName);
  const example = 'for example ghcr.io/acme/support-agent:3f2a1c0';
  if (text.includes('@')) throw new InputError(`"${text}" pins a digest; give the image by name and tag (${example})`, { field });
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  if (colon <= slash) throw new InputError(`"${text}" has no tag; give the image by name and tag (${example})`, { field });
  const name = text.slice(0, colon);
  const tag = text.slice(colon + 1);
  if (!NAME.test(name))
    throw new InputError(`"${name}" is not an image name: lowercase letters, digits and . _ - separators, with an optional registry host (${example})`, { field });
  if (!TAG.test(tag)) throw new InputError(`"${tag}" is not an image tag: up to 128 letters, digits, _ . and -, not starting with . or - (${example})`, { field });
  return { name, tag };
}

/** Checks an image input before anything runs, and that the platform deploys pushed images at all. */
export function validateImageInput(template: string | undefined, platform: { name: string; serverBuild: boolean }, field = 'image'): string | undefined {
  const text = template?.trim();
  if (!text) return undefined;
  if (platform.serverBuild) {
    throw new InputError(`${platform.name} builds the image from the agent's context, so there is no pushed image to give; remove ${field}`, { field });
  }
  const unknown = text.match(/\{(?!agent\})[^}]*\}/);
  if (unknown) throw new InputError(`unknown placeholder ${unknown[0]}; only {agent} is filled in`, { field });
  resolveImage(text, 'agent', field);
  return text;
}
