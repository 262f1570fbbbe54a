/**
 * The one place both webhook doors' deliveries land: an `@octokit/webhooks` router. The GitHub door
 * hands over what Probot verified and parsed (`github.ts`), the Gitea door what it verified itself
 * (`gitea-webhook.ts`); a handler registered here serves both, written once:
 *
 *   router.on('pull_request.closed', async (delivery) => { ... delivery.door, delivery.access(signal) ... });
 *
 * The router is the event handler inside `@octokit/webhooks`' `Webhooks` class, without the class's
 * secret-bound `sign`/`verify` (each door has its own secret and verifies before it hands over):
 * "The `.receive()` method belongs to the `event-handler` module which can be used standalone"
 * (@octokit/webhooks 14.2.0, README.md, webhooks.receive()).
 *
 * Gitea's payloads are GitHub-shaped but not identical (go-gitea/gitea@040cb8b:modules/structs/hook.go:
 * no `installation`, `owner.username` beside `owner.login`, `is_pull` on comments). `receive` checks
 * neither event names nor payloads: it needs a `name` and a `payload`, and picks the handlers of
 * `name.action`, `name` and `*` (@octokit/webhooks 14.2.0, dist-src/event-handler/receive.js). Only
 * `on` checks a name against GitHub's list, and only warns (event-handler/on.js, validate-event-name.js).
 * So a Gitea delivery reaches its handlers as sent; a handler reads the fields both forges send
 * (`DeliveryContext.repository` is read here for all of them).
 */
import { createEventHandler, type EmitterWebhookEvent, type EmitterWebhookEventName } from '@octokit/webhooks';
import type { Logger } from 'probot';
import { DeliveryRefused, type AccessFor, type DoorName, type RepoAccess, type RepositoryRef } from './deliveries.js';

/** A verified delivery, as a door hands it to the router. */
export interface Delivery {
  door: DoorName;
  /** The forge's delivery id (`X-GitHub-Delivery`, `X-Gitea-Delivery`). */
  id: string;
  /** The forge's event name (`X-GitHub-Event`, `X-Gitea-Event`). */
  name: string;
  payload: object;
  /** SHA-256 of the signed body: a replay under a fresh delivery id is the same body. */
  bodyDigest: string;
  /** The GitHub App installation the delivery names; absent for Gitea and for a token-run app. */
  installationId?: number;
  /** Carries the delivery id and the forge. */
  log: Logger;
  /** The door's way to a repository it serves. */
  accessFor: AccessFor;
}

/** What became of a delivery's work: queued (the door answers 202) or already received (200). */
export type DeliveryOutcome = 'queued' | 'duplicate';

/** What a handler gets beside the event (`id`, `name`, `payload`): the door it came through, and what that door can do. */
export interface DeliveryContext {
  door: DoorName;
  bodyDigest: string;
  installationId?: number;
  log: Logger;
  /** The repository as the payload names it (GitHub's or Gitea's shape); undefined when it names none. */
  repository: RepositoryRef | undefined;
  /**
   * The door's access to that repository, with the door's own credentials. The forge is asked who
   * the repository is, and one the door does not serve is refused (`DeliveryRefused`). Forge calls
   * take time: a handler queues work that needs them, so the delivery is answered first.
   */
  access(signal: AbortSignal): Promise<RepoAccess>;
  /** Tells the door what became of the delivery, for its answer; a handler that says nothing leaves it `ignored`. */
  acknowledge(outcome: DeliveryOutcome): void;
}

export type RoutedDelivery<E extends EmitterWebhookEventName> = EmitterWebhookEvent<E> & DeliveryContext;

export type DeliveryHandler<E extends EmitterWebhookEventName> = (delivery: RoutedDelivery<E>) => unknown;

/** A delivery a handler cannot serve as sent (it names no repository, say): the door answers 400 with the message. */
export class BadDelivery extends Error {
  override name = 'BadDelivery';
  readonly status = 400;
}

export class DeliveryRouter {
  // The door's context travels on the event it hands to `receive`; the transform only gives it its type.
  private readonly handlers = createEventHandler<DeliveryContext>({ transform: (event) => event as EmitterWebhookEvent & DeliveryContext });
  private readonly names = new Set<string>();

  /** Registers a handler for both doors; `E` is GitHub's event name (`pull_request.closed`), which Gitea sends too. */
  on<E extends EmitterWebhookEventName>(event: E, handler: DeliveryHandler<E>): void {
    this.handlers.on(event, handler);
    this.names.add(event);
  }

  /**
   * The event names a door must subscribe to, each once: `pull_request` covers `pull_request.closed`,
   * so a door that routes by name (Probot) hands each delivery over once.
   */
  get events(): string[] {
    const names = [...this.names];
    return names.filter((name) => !name.includes('.') || !this.names.has(name.split('.')[0]));
  }

  /**
   * Runs the handlers of the delivery's event (all at once) and resolves with what they made of it.
   * A handler's error rejects with that error, its `status` kept (400 for `BadDelivery`), so the door answers with it.
   */
  async receive(delivery: Delivery): Promise<DeliveryOutcome | 'ignored'> {
    const outcomes = new Set<DeliveryOutcome>();
    const repository = repositoryOf(delivery.payload);
    const context: DeliveryContext = {
      door: delivery.door,
      bodyDigest: delivery.bodyDigest,
      installationId: delivery.installationId,
      log: delivery.log,
      repository,
      access: async (signal) => {
        if (!repository) throw new DeliveryRefused('the delivery names no repository');
        return delivery.accessFor({ door: delivery.door, installationId: delivery.installationId, repository }, signal);
      },
      acknowledge: (outcome) => outcomes.add(outcome),
    };
    try {
      await this.handlers.receive({ id: delivery.id, name: delivery.name, payload: delivery.payload, ...context } as EmitterWebhookEvent);
    } catch (err) {
      throw handlerError(err);
    }
    return outcomes.has('queued') ? 'queued' : outcomes.has('duplicate') ? 'duplicate' : 'ignored';
  }
}

/** The error to answer with: `receive` gathers the handlers' errors in an AggregateError; a server error outranks a refusal. */
function handlerError(err: unknown): unknown {
  const errors: unknown[] = err instanceof AggregateError ? err.errors : [err];
  const chosen = errors.find((error) => !isClientError(error)) ?? errors[0];
  // `receive` attaches the event, with this delivery's context, to each error; it is not for the log.
  if (chosen && typeof chosen === 'object' && 'event' in chosen) delete (chosen as { event?: unknown }).event;
  return chosen;
}

function isClientError(error: unknown): boolean {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The repository a payload names: `repository.owner.login` (Gitea's `owner.username` when there is no
 * `login`), `name` and `html_url`, as GitHub and Gitea both send them.
 */
export function repositoryOf(payload: object): RepositoryRef | undefined {
  const repository = (payload as { repository?: unknown }).repository;
  if (!repository || typeof repository !== 'object') return undefined;
  const { owner: ownerObject, name, html_url: htmlUrl } = repository as { owner?: { login?: unknown; username?: unknown }; name?: unknown; html_url?: unknown };
  const owner = ownerObject?.login ?? ownerObject?.username;
  if (typeof owner !== 'string' || typeof name !== 'string' || typeof htmlUrl !== 'string' || !URL.canParse(htmlUrl)) return undefined;
  return { owner, name, htmlUrl };
}
