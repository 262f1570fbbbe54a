import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { AGENT_DIRECTIVES, AgentCode } from './agent.js';
import type { Clock } from './clock.js';
import type { DeploymentRecord, PlatformState } from './state.js';

/**
 * The Agentex server's view of the local platform's agents and deployments, derived from the v5
 * records (`state.ts`) every time it is asked, so it can never drift from them.
 *
 * On Agentex, SGP creates an Agentex-server deployment record for each deploy
 * (`POST /agents/{agent_id}/deployments` with `sgp_deploy_id`, "Correlates to SGP's
 * agentex_deploys.id": scaleapi/scale-agentex@304f014 `agentex/src/api/schemas/deployments.py`),
 * status `Pending`; the pod flips it to `Ready` with its `acp_url` when it registers
 * (`domain/use_cases/agents_use_case.py` `complete_deployment_registration`). Deleting marks it
 * for cleanup (`expires_at`, `deployment_use_case.py` `delete_deployment`), and listings leave
 * such records out (`domain/repositories/deployment_repository.py` `list_for_agent`). Here: the
 * record exists from the v5 create, is Ready once the v5 deployment is HEALTHY, and is marked
 * expired once the v5 deployment is DELETED, SUPERSEDED or CANCELLED.
 * ASSUMED: `Failed` when the v5 deployment FAILED. The server declares the status
 * (`domain/entities/deployments.py`) but no code at 304f014 sets it; SGP is assumed to.
 */

export type AcpType = 'sync' | 'async' | 'agentic';
const ACP_TYPES: readonly string[] = ['sync', 'async', 'agentic'];
const GONE = new Set(['DELETED', 'SUPERSEDED', 'CANCELLED']);

/** `api/schemas/deployments.py` `Deployment`, field for field. */
export interface AgentexDeploymentRecord {
  id: string;
  agent_id: string;
  docker_image: string;
  registration_metadata: Record<string, unknown> | null;
  status: 'Pending' | 'Ready' | 'Failed';
  acp_url: string | null;
  is_production: boolean;
  sgp_deploy_id: string | null;
  helm_release_name: string | null;
  created_at: string | null;
  promoted_at: string | null;
  expires_at: string | null;
}

/** `api/schemas/agents.py` `Agent`, field for field. */
export interface AgentexAgentRecord {
  id: string;
  name: string;
  description: string;
  status: 'Ready' | 'BuildOnly';
  acp_type: AcpType;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  registration_metadata: Record<string, unknown> | null;
  registered_at: string | null;
  agent_input_type: null;
  production_deployment_id: string | null;
}

interface ManifestAgent {
  acp_type?: unknown;
  description?: unknown;
}

export class AgentRecords {
  /** v5 deployment id → its Agentex-server record id (`utils/ids.py` `orm_id`: a uuid4). */
  private readonly recordIds = new Map<string, string>();
  /** manifest.yaml text → its `agent` block: records are derived on every request, and parsing YAML each time cost more than all else they do. */
  private readonly manifests = new Map<string, ManifestAgent | undefined>();

  constructor(
    private readonly state: PlatformState,
    private readonly clock: Clock,
  ) {}

  agentByName(name: string): AgentexAgentRecord | undefined {
    const id = this.state.agents.get(name);
    return id ? this.agent(name, id) : undefined;
  }

  agentById(agentId: string): AgentexAgentRecord | undefined {
    const name = [...this.state.agents.entries()].find(([, id]) => id === agentId)?.[0];
    return name ? this.agent(name, agentId) : undefined;
  }

  /** Every record of an agent, expired ones included, in creation order. */
  recordsOf(agentId: string): AgentexDeploymentRecord[] {
    return this.deploymentsOf(agentId).map((deployment) => this.recordOf(deployment));
  }

  /** The record with this id, and the v5 deployment behind it. */
  find(recordId: string): { record: AgentexDeploymentRecord; deployment: DeploymentRecord } | undefined {
    for (const deployment of this.state.deployments.values()) {
      if (this.idOf(deployment) === recordId) return { record: this.recordOf(deployment), deployment };
    }
    return undefined;
  }

  /** The agent's type as its newest registered deployment's manifest declares it; the server's default (`async`, `domain/entities/agents.py`) otherwise. */
  acpTypeOf(agentId: string): AcpType {
    return this.declaringManifest(agentId).acpType;
  }

  recordOf(deployment: DeploymentRecord): AgentexDeploymentRecord {
    const gone = GONE.has(deployment.status);
    const registers = this.registers(deployment);
    const registered = registers && Boolean(deployment.url);
    const failed = !registered && (deployment.status === 'FAILED' || (gone && deployment.deploy_events.some((event) => event.reason === 'BackOff')));
    const production = registered && !deployment.preview && !gone;
    const build = deployment.build_id ? this.state.builds.get(deployment.build_id) : undefined;
    return {
      id: this.idOf(deployment),
      agent_id: deployment.agent_id,
      docker_image: build?.image_url ?? `${deployment.image_name}:${deployment.image_tag}`,
      registration_metadata: null,
      status: registered ? 'Ready' : failed ? 'Failed' : 'Pending',
      // Where the Agentex server would dial the pod; the local platform never dials it.
      acp_url: registered ? `http://${deployment.helm_release_name}.${deployment.namespace}.svc.cluster.local:8000` : null,
      is_production: production,
      sgp_deploy_id: deployment.id,
      helm_release_name: deployment.helm_release_name,
      created_at: deployment.created_at,
      promoted_at: production ? deployment.updated_at : null,
      expires_at: gone ? deployment.updated_at : null,
    };
  }

  /** False when the pod would never register: the built code says `never-ready`, or the manifest's acp_type is one `RegisterAgentRequest` refuses. */
  registers(deployment: DeploymentRecord): boolean {
    if (new AgentCode(this.state.agentDirectivesOf(deployment.build_id)).has(AGENT_DIRECTIVES.neverReady)) return false;
    const declared = this.manifestAgent(deployment.manifest_file)?.acp_type;
    return declared === undefined || ACP_TYPES.includes(declared as string);
  }

  private agent(name: string, id: string): AgentexAgentRecord {
    const deployments = this.deploymentsOf(id);
    const records = deployments.map((deployment) => this.recordOf(deployment));
    const live = records.filter((record) => record.status === 'Ready' && !record.expires_at);
    const stamps = [...[...this.state.builds.values()].filter((build) => build.agent_id === id), ...deployments].map((item) => item.created_at).sort();
    const now = new Date(this.clock.now()).toISOString();
    const { acpType, description } = this.declaringManifest(id);
    return {
      id,
      name,
      description,
      status: live.length ? 'Ready' : 'BuildOnly',
      acp_type: acpType,
      status_reason: live.length ? 'Agent registered successfully.' : 'Agent build registered; not yet deployed.',
      created_at: stamps[0] ?? now,
      updated_at: stamps.at(-1) ?? now,
      registration_metadata: null,
      registered_at: live.at(-1)?.created_at ?? null,
      agent_input_type: null,
      production_deployment_id: records.find((record) => record.is_production)?.id ?? null,
    };
  }

  private declaringManifest(agentId: string): { acpType: AcpType; description: string } {
    const deployments = this.deploymentsOf(agentId);
    const registered = deployments.filter((deployment) => this.recordOf(deployment).status === 'Ready');
    const source = registered.at(-1) ?? deployments.at(-1);
    const agent = source ? this.manifestAgent(source.manifest_file) : undefined;
    const acpType = ACP_TYPES.includes(agent?.acp_type as string) ? (agent!.acp_type as AcpType) : 'async';
    return { acpType, description: typeof agent?.description === 'string' ? agent.description : '' };
  }

  private deploymentsOf(agentId: string): DeploymentRecord[] {
    return [...this.state.deployments.values()].filter((deployment) => deployment.agent_id === agentId);
  }

  private manifestAgent(text: string): ManifestAgent | undefined {
    if (!this.manifests.has(text)) this.manifests.set(text, manifestAgent(text));
    return this.manifests.get(text);
  }

  private idOf(deployment: DeploymentRecord): string {
    let id = this.recordIds.get(deployment.id);
    if (!id) {
      id = randomUUID();
      this.recordIds.set(deployment.id, id);
    }
    return id;
  }
}

function manifestAgent(text: string): ManifestAgent | undefined {
  try {
    const agent = (parseYaml(text) as { agent?: ManifestAgent } | null)?.agent;
    return agent && typeof agent === 'object' ? agent : undefined;
  } catch {
    return undefined;
  }
}
