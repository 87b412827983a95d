import { z } from 'zod';
import { DatasetVersionPromoted, NotFoundError, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import type { Clock } from '../clock';
import type { DatasetRepository } from '../datasets/dataset.repository';

export const PromoteDatasetVersionPayload = z.object({
  dataset: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a dataset name (lowercase slug)'),
  version: z.number().int().positive(),
  reason: z.string().min(1).max(1000).optional(),
});
export type PromoteDatasetVersion = z.output<typeof PromoteDatasetVersionPayload>;

/** An operator's command without an actor is still recorded, under this name. */
const UNKNOWN_ACTOR = 'unknown';

/**
 * Makes a dataset version current, recorded with its actor. Promoting the
 * version that is already current changes nothing (command.accepted).
 */
export async function promoteDatasetVersion(tx: Queryable, store: EventStore, datasets: DatasetRepository, clock: Clock, p: PromoteDatasetVersion, metadata: EventMetadata): Promise<StoredEvent[]> {
  const { currentVersion, exists } = await datasets.lockDataset(tx, p.dataset);
  if (!exists) throw new NotFoundError('dataset', p.dataset);
  if (!(await datasets.versionExists(tx, p.dataset, p.version))) throw new NotFoundError('dataset version', `${p.dataset}@${p.version}`);
  if (currentVersion === p.version) return [];
  const now = clock.now();
  const actor = metadata.actor ?? UNKNOWN_ACTOR;
  await datasets.promote(tx, p.dataset, p.version, actor, now);
  const { events } = await store.append(
    `dataset-${p.dataset}`,
    [
      {
        type: DatasetVersionPromoted.type,
        data: { dataset: p.dataset, version: p.version, ...(currentVersion !== null && { previousVersion: currentVersion }), actor, ...(p.reason !== undefined && { reason: p.reason }), promotedAt: now.toISOString() },
        metadata,
      },
    ],
    { expected: 'any', tx },
  );
  return events;
}
