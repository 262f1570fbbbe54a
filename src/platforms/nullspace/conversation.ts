/*
 * Why a Nullspace preview cannot be talked to through Nullspace. Read: its guide
 * (docs.ns.rocks agents/deployments, agents/primitives), its API reference (create-an-agent-service-
 * instance, seed 004), its token model (docs.ns.rocks networking/token-model) and its CLI reference
 * (docs.ns.rocks reference/cli), for a way to send a message to a deployed agent:
 * - a preview is an agent deployment in `service` mode, "when the agent exposes HTTP, WebSocket, or
 *   another long-running server: … a chat backend"; the server and its protocol are the agent's own,
 *   and "framework sessions … remain owned by your application". Nullspace starts it, reports its
 *   status and logs, and hands out its `public_url`; it has no route that invokes it. Only a `job`
 *   deployment takes input (`nullspace agent run --input-json`), and a run is not a conversation
 *   ("Nullspace run IDs are not conversation session IDs");
 * - `public_url` is a signed edge URL whose `edge_token` is a bearer credential ("do not log or
 *   persist them"). The adapter never reads it (nullspace.ts), so there is no address to talk to
 *   either, unless a preview-url template gives one without a credential (a preview proxy of your
 *   own, which holds the credential): then the smoke file's plain `http:` conversation applies.
 */

export const NULLSPACE_CONVERSATION_UNSUPPORTED =
  'Nullspace documents no way to send a message to a deployed agent: a preview runs as a service, which is the agent’s own HTTP server, and Nullspace only starts it and hands out its signed public_url, ' +
  'whose edge_token credential agent-preview never reads or stores (docs.ns.rocks agents/deployments and networking/token-model; API reference create-an-agent-service-instance). ' +
  'Where a preview-url template gives the preview a URL without a credential (e.g. your own preview proxy), an http: conversation in preview-smoke.yaml can talk to it.';
