/**
 * A pull request closed, a branch deleted: written once for GitHub and Gitea. Each delivery becomes
 * a `TeardownJob` on the queue, and the delivery is answered once the job is accepted; the job does
 * the forge and platform work later, on whichever replica takes it.
 *
 * Repository isolation. Labels (`pr-5`) repeat across repositories that share a platform account,
 * so a label alone never decides what to delete. Every build our action makes records its source
 * repository (`source_repo` = `host/owner/repo`). The job lists the deployments with the label, reads
 * each one's recorded origin and keeps only those of the delivering repository; a preview whose
 * origin is recorded nowhere is kept and named (`src/pipeline/ownership.ts`, docs/ownership.md).
 *
 * Nothing is deleted on a delivery's word: the job first asks the forge, through the delivering door
 * and with its credentials, who the repository is and whether the pull request is closed (or the
 * branch gone) right now (`deliveries.ts`). What still fails is left for the sweep (`sweep.ts`).
 */
import type { Logger } from 'probot';
import type { TeardownJob } from './deliveries.js';
import { BadDelivery, type DeliveryContext, type DeliveryRouter, type RoutedDelivery } from './router.js';
import type { TeardownQueue } from './teardown-queue.js';

export function handleCloses(router: DeliveryRouter, queue: TeardownQueue): void {
  router.on('pull_request.closed', async (delivery) => {
    const number = pullNumberOf(delivery);
    await enqueue(queue, delivery, { ...jobOf(delivery), event: 'pull_request.closed', number }, `pull request #${number} closed; teardown queued`);
  });

  router.on('delete', async (delivery) => {
    const { ref, ref_type: refType } = delivery.payload;
    if (refType !== 'branch' || typeof ref !== 'string') return;
    await enqueue(queue, delivery, { ...jobOf(delivery), event: 'branch.deleted', branch: ref }, `branch ${ref} deleted; teardown queued`);
  });
}

async function enqueue(queue: TeardownQueue, delivery: DeliveryContext & { id: string }, job: TeardownJob, queued: string): Promise<void> {
  const log: Logger = delivery.log;
  const outcome = await queue.enqueue(job, log);
  delivery.acknowledge(outcome);
  const repo = `${job.repository.owner}/${job.repository.name}`;
  if (outcome === 'duplicate') log.info({ repo, event: job.event, outcome }, `delivery ${delivery.id} was already received; ignored`);
  else log.info({ repo, event: job.event, outcome }, queued);
}

function jobOf(delivery: DeliveryContext & { id: string }): Pick<TeardownJob, 'door' | 'deliveryId' | 'bodyDigest' | 'installationId' | 'repository'> {
  if (!delivery.repository) throw new BadDelivery('the delivery names no repository (owner, name and html_url)');
  return { door: delivery.door, deliveryId: delivery.id, bodyDigest: delivery.bodyDigest, installationId: delivery.installationId, repository: delivery.repository };
}

/** The pull request's number: `pull_request.number`, or the payload's `number` (both forges send both). */
function pullNumberOf(delivery: RoutedDelivery<'pull_request.closed'>): number {
  const payload = delivery.payload as { number?: unknown; pull_request?: { number?: unknown } };
  const number = Number(payload.pull_request?.number ?? payload.number);
  if (!Number.isInteger(number) || number < 1) throw new BadDelivery('the delivery names no pull request number');
  return number;
}
