import { openAsBlob } from 'node:fs';
import type { LocalPlatform } from '../../../src/local-platform/index.js';
import { makeArchive } from '../../support/archive.js';
import { until } from '../../support/wait.js';

export type Json = Record<string, any>;

export const MANIFEST = 'agent:\n  name: api-agent\n';
export const ENVIRONMENTS = 'schema_version: v1\nenvironments:\n  dev:\n    kubernetes:\n      namespace: team\n';

export interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

/** Calls the local platform over real HTTP, JSON or multipart, with the API key. */
export function client(local: () => LocalPlatform, apiKey: string) {
  async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const init: RequestInit = { method, headers: { 'x-api-key': apiKey, ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const response = await fetch(`${local().url}${route}`, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
  }

  async function buildForm(files: Record<string, string>, fields: Record<string, string> = {}, archivePath?: string): Promise<FormData> {
    const form = new FormData();
    for (const [name, value] of Object.entries({ image_name: 'api-agent', agent_name: 'api-agent', ...fields })) form.append(name, value);
    form.append('context_archive', await openAsBlob(archivePath ?? (await makeArchive(files))), 'context.tar.gz');
    return form;
  }

  async function finishedBuild(id: string): Promise<Json> {
    return until(
      () => call('GET', `/v5/builds/${id}`).then((answer) => answer.body),
      (build) => ['SUCCESS', 'FAILED', 'CANCELLED'].includes(build.build_status),
    );
  }

  async function deploymentIn(id: string, statuses: string[]): Promise<Json> {
    return until(
      () => call('GET', `/v5/agentex/deployments/${id}`).then((answer) => answer.body),
      (deployment) => statuses.includes(deployment.status),
    );
  }

  return { call, buildForm, finishedBuild, deploymentIn };
}

export { until } from '../../support/wait.js';

export function sseEvents(text: string): { id: number; line: string }[] {
  return [...text.matchAll(/id: (\d+)\ndata: (.*)\n\n/g)].map((match) => ({ id: Number(match[1]), line: JSON.parse(match[2]).line as string }));
}
