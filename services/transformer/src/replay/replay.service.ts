import { TransformationReplayCompleted, type EventData, type EventMetadata, ReplayFailed, type ReplayPublished, type ReplayStarted, type RowCounts } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import type { Clock } from '../clock';
import type { Capture, CaptureTransformer } from '../captures/capture.transformer';
import type { DatasetRepository } from '../datasets/dataset.repository';
import type { TransformRegistry } from '../transforms/transform.registry';
import type { ReplayRepository, ReplayRow } from './replay.repository';

export const REPLAY_CONSUMER = 'transformer-replay';
/** The `consumer` a replay.started names when this service is to take it. */
export const SERVICE = 'transformer';

/** One replayed message of a batch, decoded. */
export interface ReplayedMessage {
  /** `<replayId>:<event id>`: the inbox key, so a redelivered or re-published event counts once. */
  messageId: string;
  replayId: string;
  /** The capture, or undefined for another event type the selection included (counted, not transformed). */
  capture?: Capture;
}

/**
 * The transformer's side of a backfill. replay.started (on the events
 * stream) says which transform, whether it is a dry run and how many events
 * will come; the ledger then re-publishes the captures onto the replay's
 * subject, which a separate consumer takes in batches. Each batch is one
 * transaction: inbox rows, dataset rows (none for a dry run) and the
 * replay's counters. When every event is processed and the ledger said it
 * published them all, `transformation.replay_completed` is recorded once.
 */
export class ReplayService {
  constructor(
    private readonly store: EventStore,
    private readonly registry: TransformRegistry,
    private readonly replays: ReplayRepository,
    private readonly datasets: DatasetRepository,
    private readonly transformer: CaptureTransformer,
    private readonly clock: Clock,
  ) {}

  async started(tx: Queryable, data: EventData<typeof ReplayStarted>): Promise<void> {
    const now = this.clock.now();
    await this.replays.lock(tx, data.replayId);
    if (data.consumer !== SERVICE || data.kind !== 'backfill') return this.replays.startForeign(tx, data.replayId, data.consumer, now);
    const ref = data.transform ?? '';
    const transform = this.registry.get(ref);
    if (!transform) {
      const error = { code: 'unknown_transform', message: `no transform ${ref || '(none given)'} is loaded (TRANSFORMER_TRANSFORMS)` };
      await this.replays.start(tx, { replayId: data.replayId, transform: ref || '(none)', baseVersion: null, dryRun: data.dryRun, total: data.total, error }, now);
      // Recorded, not only kept here: the ledger stops publishing it and `replay status` says failed
      // (it stayed "published" forever). Where a completion would go; a second replica finds it there.
      await this.store.tryAppend(
        `transformation-replay-${data.replayId}`,
        [{ type: ReplayFailed.type, data: { replayId: data.replayId, error, at: now.toISOString() }, metadata: { correlationId: data.replayId } }],
        { expected: 'no_stream', tx },
      );
      return;
    }
    const baseVersion = await this.datasets.currentVersion(tx, transform.dataset);
    await this.replays.start(tx, { replayId: data.replayId, transform: ref, dataset: transform.dataset, datasetVersion: transform.version, baseVersion, dryRun: data.dryRun, total: data.total }, now);
  }

  async published(tx: Queryable, data: EventData<typeof ReplayPublished>, metadata: EventMetadata): Promise<void> {
    await this.replays.lock(tx, data.replayId);
    const row = await this.replays.markPublished(tx, data.replayId, this.clock.now());
    if (row) await this.completeIfDone(tx, row, metadata);
  }

  async failed(tx: Queryable, data: EventData<typeof ReplayFailed>): Promise<void> {
    await this.replays.markFailed(tx, data.replayId, data.error);
  }

  /** Replays a batch already claimed in the inbox by the caller: `fresh` are the messages not seen before. */
  async applyBatch(tx: Queryable, replay: ReplayRow, fresh: ReplayedMessage[], metadata: EventMetadata): Promise<ReplayRow> {
    const captures = fresh.flatMap((m) => (m.capture ? [m.capture] : []));
    const transform = replay.error ? undefined : this.registry.get(replay.transform);
    let counts: RowCounts = { rows: 0, upserted: 0, unchanged: 0, quarantined: 0 };
    let failed = 0;
    if (transform && captures.length > 0) {
      const result = await this.transformer.transform(tx, transform, captures, { replayId: replay.replayId, dryRun: replay.dryRun, live: false, recordApplications: false }, this.clock.now());
      counts = result.totals;
      failed = result.failed;
    } else if (!transform) {
      failed = captures.length;
    }
    const row = await this.replays.progress(tx, replay.replayId, { processed: fresh.length, counts, failed });
    await this.completeIfDone(tx, row, metadata);
    return row;
  }

  private async completeIfDone(tx: Queryable, row: ReplayRow, metadata: EventMetadata): Promise<void> {
    if (!row.published || row.processed < row.total || row.completedAt !== null || row.error !== null) return;
    const now = this.clock.now();
    const diff = row.dryRun || row.dataset === null || row.datasetVersion === null ? null : await this.replays.diff(tx, row.dataset, row.datasetVersion, row.baseVersion);
    if (!(await this.replays.complete(tx, row.replayId, diff, now))) return;
    await this.store.append(
      `transformation-replay-${row.replayId}`,
      [
        {
          type: TransformationReplayCompleted.type,
          data: {
            replayId: row.replayId,
            transform: row.transform,
            dataset: row.dataset!,
            datasetVersion: row.datasetVersion!,
            dryRun: row.dryRun,
            captures: row.processed,
            counts: row.counts,
            completedAt: now.toISOString(),
          },
          metadata,
        },
      ],
      { expected: 'no_stream', tx },
    );
  }
}
