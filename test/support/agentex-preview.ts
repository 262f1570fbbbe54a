import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Deployment, Platform } from '../../src/platforms/platform.js';
import { makeArchive } from './archive.js';
import { until } from './wait.js';

export const ENVIRONMENTS = 'schema_version: v1\nenvironments:\n  dev:\n    kubernetes:\n      namespace: team\n';

export interface PreviewOptions {
  agent: string;
  /** The manifest's `agent.acp_type`; `sync` unless given. */
  acpType?: string;
  /** Lines added to the agent's `project/acp.py` (the local agent's directives). */
  code?: string[];
  dockerfile?: string;
  /** A packed context and its manifest to deploy instead of the generated agent. */
  packed?: { archivePath: string; archiveBytes: number; treeHash: string; manifestText: string };
}

/** Builds an agent on the (local) platform, deploys it as a preview and waits until the v5 deployment is healthy or failed. */
export async function deployPreview(platform: Platform, options: PreviewOptions): Promise<Deployment> {
  const context = options.packed ?? (await generatedContext(options));
  const build = await platform.builder!.createBuild({
    agentName: options.agent,
    archivePath: context.archivePath,
    archiveBytes: context.archiveBytes,
    treeHash: context.treeHash,
    imageName: options.agent,
    imageTag: 'test',
  });
  await until(
    () => platform.builder!.getBuild(build.id),
    (current) => current.phase === 'succeeded',
  );
  const created = await platform.createDeployment({
    agentName: options.agent,
    manifestText: context.manifestText,
    environmentText: ENVIRONMENTS,
    buildId: build.id,
    preview: { label: 'pr-7', expiresAt: new Date(Date.now() + 3_600_000) },
  });
  return until(
    () => platform.getDeployment(created.id),
    (current) => current.phase === 'healthy' || current.phase === 'failed',
  );
}

async function generatedContext(options: PreviewOptions) {
  const source = ['"""A test agent."""', ...(options.code ?? []), 'print("hi")'].join('\n');
  const archivePath = await makeArchive({ Dockerfile: options.dockerfile ?? 'FROM python:3.12\nCOPY project /app/project\n', 'project/acp.py': `${source}\n` });
  const manifestText = `agent:\n  name: ${options.agent}\n  acp_type: ${options.acpType ?? 'sync'}\n`;
  return { archivePath, archiveBytes: (await stat(archivePath)).size, treeHash: randomUUID(), manifestText };
}
