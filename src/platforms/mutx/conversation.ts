/*
 * Why a MUTX preview cannot be talked to. Every route of its API was read,
 * mutx-dev/mutx-dev@abdc97527b57fbb7db62bd7b5f28235ae4150c00 src/api/routes/ (and docs/api/openapi.json,
 * sdk/mutx/, cli/commands/), for one that sends a message to a deployed agent or deployment. None does:
 * - `POST /v1/runs` and `/v1/observability/runs` record a run the caller reports: `input_text` and
 *   `output_text` are both given by the caller (src/api/models/schemas.py RunCreate);
 * - `/v1/sessions` lists and configures OpenClaw gateway sessions on the operator host (thinking
 *   level, label, pause, kill, transcript) and sends no message (src/api/routes/sessions.py);
 * - `POST /v1/pico/chat` talks to MUTX's own onboarding coach, not to a user's agent (pico.py);
 * - agents poll `GET /v1/agents/commands` (agent_runtime.py), but no route creates a command;
 * - document and reasoning jobs run MUTX templates, with no agent in their request (schemas.py
 *   DocumentJobCreate, ReasoningJobCreate).
 * MUTX deployments carry no URL either (routes/deployments.py DeploymentResponse), so only a
 * preview-url template can give one, and then the smoke file's plain `http:` conversation applies.
 */

export const MUTX_CONVERSATION_UNSUPPORTED =
  'MUTX documents no way to send a message to a deployed agent: none of its API routes (mutx-dev/mutx-dev@abdc975 src/api/routes/) invokes an agent or a deployment ' +
  '(runs only record what the caller reports, sessions only configure OpenClaw gateway sessions, pico/chat is MUTX’s own onboarding coach), and its deployments carry no URL. ' +
  'Where a preview-url template gives the preview a URL, an http: conversation in preview-smoke.yaml can talk to it.';
