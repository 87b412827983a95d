import type { Pool } from 'pg';
import { COMMIT_SAFE, type Cursor } from '@steward/event-store';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Counting the whole backlog of a relay that is far behind would scan it; past this we say "at least".
export const LAG_COUNT_CAP = 100_000;

export interface UnpublishedStats {
  count: number;
  /** The count stopped at LAG_COUNT_CAP. */
  capped: boolean;
  oldest: Date | null;
}

/** The reads verify needs beyond the event store's API. */
export class VerifyRepository {
  constructor(private readonly pool: Pool) {}

  /** Where an event sits in commit order, by id (primary key); undefined when the store has no such event. */
  async locate(eventId: string): Promise<Cursor | undefined> {
    if (!UUID.test(eventId)) return undefined;
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(
      'SELECT transaction_id, global_position FROM events WHERE event_id = $1',
      [eventId],
    );
    const row = rows[0];
    return row && { transactionId: BigInt(row.transaction_id), globalPosition: BigInt(row.global_position) };
  }

  /** Commit-safe events after the relay checkpoint: how many, and since when the oldest waits. */
  async unpublishedAfter(checkpoint: Cursor): Promise<UnpublishedStats> {
    const { rows } = await this.pool.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*) AS n, min(occurred_at) AS oldest FROM (
         SELECT occurred_at FROM events
          WHERE ${COMMIT_SAFE}
            AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
          ORDER BY transaction_id, global_position LIMIT $3) backlog`,
      [checkpoint.transactionId.toString(), checkpoint.globalPosition.toString(), LAG_COUNT_CAP + 1],
    );
    const n = Number(rows[0]?.n ?? 0);
    return { count: Math.min(n, LAG_COUNT_CAP), capped: n > LAG_COUNT_CAP, oldest: rows[0]?.oldest ?? null };
  }
}
