import { ReplayFailed, ReplayProgressed, ReplayPublished, ReplayStarted, TransformationReplayCompleted, type EventData } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';

/** The replay's states as `replay status` shows them. */
export type ReplayState = 'publishing' | 'published' | 'completed' | 'failed' | 'cancelled';
export const FINAL_STATES: readonly ReplayState[] = ['completed', 'failed', 'cancelled'];

/** The event types the projection folds. */
export const REPLAY_PROJECTION_TYPES = [ReplayStarted.type, ReplayProgressed.type, ReplayPublished.type, ReplayFailed.type, TransformationReplayCompleted.type];

interface FoldedEvent {
  type: string;
  data: unknown;
  occurredAt: Date;
}

/**
 * Folds one event into the replay projection. Idempotent per event (a
 * repeated event leaves the row as it was) and order-tolerant where it can
 * be: progress only moves forward and a final state is never left. Both the
 * ledger's own writes and a rebuild from `steward.replay.<id>.>` go through here
 * (a rebuild's search_path resolves `ledger_replays` to its shadow table).
 */
export async function applyReplayEvent(tx: Queryable, e: FoldedEvent): Promise<void> {
  switch (e.type) {
    case ReplayStarted.type: {
      const d = e.data as EventData<typeof ReplayStarted>;
      await tx.query(
        `INSERT INTO ledger_replays (replay_id, kind, selection, transform, consumer, dry_run, total, published, up_to_transaction, up_to_position,
            state, requested_by, started_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8::xid8, $9, 'publishing', $10, $11, $12)
          ON CONFLICT (replay_id) DO NOTHING`,
        [d.replayId, d.kind, JSON.stringify(d.selection), d.transform ?? null, d.consumer, d.dryRun, d.total, d.upTo.transactionId, d.upTo.position, d.requestedBy ?? null, d.startedAt, e.occurredAt],
      );
      return;
    }
    case ReplayProgressed.type: {
      const d = e.data as EventData<typeof ReplayProgressed>;
      await tx.query(`UPDATE ledger_replays SET published = GREATEST(published, $2), updated_at = $3 WHERE replay_id = $1`, [d.replayId, d.published, e.occurredAt]);
      return;
    }
    case ReplayPublished.type: {
      const d = e.data as EventData<typeof ReplayPublished>;
      // A rebuild has no completion event of its own: the ledger's part is the whole of it.
      await tx.query(
        `UPDATE ledger_replays SET published = $2, published_at = $3, updated_at = $4,
            state = CASE WHEN kind = 'rebuild' OR completed_at IS NOT NULL THEN 'completed' ELSE 'published' END,
            completed_at = CASE WHEN kind = 'rebuild' THEN $3::timestamptz ELSE completed_at END
          WHERE replay_id = $1 AND state = 'publishing'`,
        [d.replayId, d.published, d.at, e.occurredAt],
      );
      return;
    }
    case ReplayFailed.type: {
      const d = e.data as EventData<typeof ReplayFailed>;
      await tx.query(
        `UPDATE ledger_replays SET state = $2, failed = $3, updated_at = $4 WHERE replay_id = $1 AND state NOT IN ('completed', 'failed', 'cancelled')`,
        [d.replayId, d.error.code === 'cancelled' ? 'cancelled' : 'failed', JSON.stringify({ ...d.error, at: d.at }), e.occurredAt],
      );
      return;
    }
    case TransformationReplayCompleted.type: {
      const d = e.data as EventData<typeof TransformationReplayCompleted>;
      // The consumer may commit its completion before the ledger's replay.published lands in the
      // store: then the completion is kept and replay.published finishes the row (order-tolerant).
      await tx.query(
        `UPDATE ledger_replays SET applied = $2, completed_at = $3, updated_at = $4,
            state = CASE WHEN state = 'published' THEN 'completed' ELSE state END
          WHERE replay_id = $1 AND state IN ('publishing', 'published')`,
        [d.replayId, d.captures, d.completedAt, e.occurredAt],
      );
      return;
    }
  }
}
