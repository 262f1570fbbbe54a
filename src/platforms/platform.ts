/**
 * What the pipeline needs from a hosting platform. Each platform lives in its own folder and
 * implements this. Building is an optional part (`builder`): a platform that runs pushed images has
 * none, so no adapter carries methods that only throw. What else a platform cannot do, it declares
 * in `capabilities` instead of pretending.
 */

/** Build states after normalising every spelling a platform uses. */
export type BuildPhase = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelling' | 'cancelled' | 'unknown';
/** Deployment states after normalising every spelling a platform uses. */
export type DeployPhase = 'pending' | 'progressing' | 'healthy' | 'failed' | 'cancelled' | 'deleted' | 'superseded' | 'unknown';

export const TERMINAL_BUILD_PHASES: ReadonlySet<BuildPhase> = new Set(['succeeded', 'failed', 'cancelled']);
export const TERMINAL_DEPLOY_PHASES: ReadonlySet<DeployPhase> = new Set(['healthy', 'failed', 'cancelled', 'deleted', 'superseded']);
/** A deployment in one of these no longer serves anything and needs no teardown. */
export const GONE_DEPLOY_PHASES: ReadonlySet<DeployPhase> = new Set(['deleted', 'superseded', 'cancelled']);

export interface Build {
  id: string;
  phase: BuildPhase;
  /** The status exactly as the platform spelled it. */
  rawStatus: string;
  agentName?: string;
  agentId?: string;
  imageName?: string;
  imageTag?: string;
  imageUrl?: string;
  treeHash?: string;
  sourceCommit?: string;
  /** host/owner/repo the build came from, when it was recorded. */
  sourceRepo?: string;
  createdAt?: string;
}

export interface DeployEvent {
  type?: string;
  reason?: string;
  message: string;
  timestamp?: string;
}

export interface Deployment {
  id: string;
  phase: DeployPhase;
  rawStatus: string;
  agentName?: string;
  buildId?: string;
  previewLabel?: string;
  expiresAt?: string;
  createdAt?: string;
  /** Helm release, service name or whatever the platform calls the running unit. */
  release?: string;
  namespace?: string;
  /** Where the deployment answers, when the platform says so. Never a URL carrying a credential. */
  url?: string;
  /** host/owner/repo it was deployed from, where the platform can carry it on the deployment itself. */
  sourceRepo?: string;
  /** The manifest and environments text it was deployed with, where the platform returns them (tells an unchanged preview). */
  deployedWith?: { manifestText: string; environmentText: string };
  events: DeployEvent[];
}

export interface LogLine {
  message: string;
  level?: string;
  timestamp?: string;
}

/** How far a build log stream got. */
export interface LogCursor {
  lines: number;
  lastEventId?: string;
  ended: 'closed' | 'dropped';
  /** Why the stream dropped, for the log. */
  reason?: string;
}

export interface PlatformCapabilities {
  /** Deployments carry a URL. Without it the preview URL comes from a template. */
  deploymentUrl: boolean;
  /**
   * Previews carry an expiry the platform enforces. Without it a preview runs until its pull
   * request closes or the sweep removes it, and nothing may say it "expires".
   */
  previewExpiry: boolean;
}

/**
 * How a platform turns a preview label into one it accepts. Each platform has its own rule; making
 * labels that collide after sanitising distinct is the caller's job, not the rule's.
 */
export interface LabelRule {
  /** The label as the platform accepts it; may be empty, which callers must reject. */
  sanitize(input: string): string;
  /** The rule in words, for the note shown when a label had to change. */
  readonly description: string;
}

export interface BuildProvenance {
  commit?: string;
  dirty?: boolean;
  ref?: string;
  /** host/path, never with credentials. */
  repo?: string;
  subpath?: string;
}

export interface BuildRequest {
  agentName: string;
  archivePath: string;
  archiveBytes: number;
  treeHash: string;
  imageName: string;
  imageTag: string;
  buildArgs?: Record<string, string>;
  /** Target image platform, e.g. linux/amd64. */
  platform?: string;
  provenance?: BuildProvenance;
  /** The preview this build is for, where a platform keeps builds under the preview (Nullspace versions). */
  previewLabel?: string;
}

export interface DeployRequest {
  agentName: string;
  /** manifest.yaml text. */
  manifestText: string;
  /** environments.yaml text. */
  environmentText: string;
  buildId?: string;
  image?: { name: string; tag: string };
  /** Absent for a real (non-preview) deploy. */
  preview?: { label: string; expiresAt: Date };
  /** host/owner/repo the deploy comes from; platforms that can carry metadata on a deployment record it. */
  sourceRepo?: string;
}

export interface DeploymentFilter {
  previewLabel?: string;
  agentName?: string;
  buildId?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface UploadOptions extends CallOptions {
  onUploadProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** Server-side image builds from an uploaded context. Optional parts are simply absent where a platform lacks them. */
export interface Builder {
  /**
   * The newest successful build of this agent with this tree hash that `accept` takes (every one when
   * absent), if any: only where builds can be found by `working_tree_hash`. Newer builds `accept`
   * refuses are passed over, not an end to the search.
   */
  findReusableBuild?(agentName: string, treeHash: string, options?: CallOptions & { accept?: (build: Build) => boolean }): Promise<Build | undefined>;
  createBuild(request: BuildRequest, options?: UploadOptions): Promise<Build>;
  getBuild(id: string, options?: CallOptions): Promise<Build>;
  /** Absent where a build cannot be cancelled. */
  cancelBuild?(id: string, options?: CallOptions): Promise<void>;
  /**
   * Calls `onLine` for each build log line as it arrives, until the platform closes the stream or
   * the connection drops (`ended` says which). Pass the returned cursor back as `resume` to go on
   * after a drop without repeating lines. Absent where builds have no live log.
   */
  streamBuildLogs?(id: string, onLine: (line: string) => void, options?: CallOptions & { resume?: LogCursor }): Promise<LogCursor>;
}

/** The preview a conversation is held with. */
export interface ConversationTarget {
  /** The platform's deployment (as `createDeployment`/`listDeployments` return it). */
  deployment: Deployment;
  agentName: string;
  /** Where the preview answers, when known (the deployment's URL or the preview-url template filled in). */
  url?: string;
  /** Recorded with the conversation where the platform keeps metadata (Agentex `task_metadata`): PR, commit, repository. Never secrets. */
  metadata?: Record<string, string>;
}

export interface OpenConversationOptions extends CallOptions {
  /** How long to wait for the preview to accept conversations (Agentex: the server's deployment record `Ready` with an `acp_url`). */
  readyTimeoutMs?: number;
  pollIntervalMs?: number;
  /**
   * Continue this earlier conversation (the `id` of a session an earlier `open` returned) instead of
   * starting one, where the platform keeps conversations. A conversation the platform no longer has
   * is a ConversationError with code `gone`; a platform that keeps none starts a new one and says
   * so in the session's `resumed` (false).
   */
  resume?: string;
}

/** One reply of the agent to one message. */
export interface ConversationReply {
  /** The agent's text, as the platform returned it (untrusted: render it only through the escaping helpers). */
  text: string;
  /** The platform's own record of the reply (task message ids, …), for the JSON report. Never carries credentials. */
  raw?: unknown;
}

/** A conversation with one preview: every `send` continues the same history (one Agentex task). */
export interface ConversationSession {
  /** What the platform calls this conversation (Agentex task id), for the report. */
  readonly id?: string;
  /** Set when `open` was asked to resume: whether this session continues that conversation. */
  readonly resumed?: boolean;
  /** Sends one message; the signal ends the turn (its timeout). A JSON-RPC error or an empty answer is a thrown `ConversationError`. */
  send(message: string, options?: CallOptions): Promise<ConversationReply>;
  /** Ends the conversation where the platform keeps one open (best effort). */
  close?(options?: CallOptions): Promise<void>;
}

/** A platform that can talk to its previews. Absent on a platform that cannot; it then says why in `conversationUnsupported`. */
export interface Conversations {
  open(target: ConversationTarget, options?: OpenConversationOptions): Promise<ConversationSession>;
}

export interface Platform {
  /** `agentex`, `local`, `mutx`, ... */
  readonly name: string;
  readonly capabilities: PlatformCapabilities;
  /** Present when the platform builds images itself; without it, deploys take an already pushed image. */
  readonly builder?: Builder;
  /** This platform's preview-label rule. */
  readonly labelRule: LabelRule;
  /** Present when previews can be talked to (scripted smoke conversations, `agent-preview chat`). */
  readonly conversation?: Conversations;
  /** Why previews on this platform cannot be talked to, when `conversation` is absent: shown as `unsupported`. */
  readonly conversationUnsupported?: string;

  createDeployment(request: DeployRequest, options?: CallOptions): Promise<Deployment>;
  getDeployment(id: string, options?: CallOptions): Promise<Deployment>;
  /** Every deployment matching the filter, newest first, across all pages. */
  listDeployments(filter: DeploymentFilter, options?: CallOptions): Promise<Deployment[]>;
  /** Tears a deployment down. One that is already gone counts as done. */
  deleteDeployment(id: string, options?: CallOptions): Promise<'deleted' | 'already-gone'>;
  /** Runtime log lines of a deployment, oldest first, across all pages. */
  deploymentLogs(id: string, options?: CallOptions & { maxLines?: number }): Promise<LogLine[]>;
}
