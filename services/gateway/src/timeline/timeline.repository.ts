import type { Pool } from 'pg';
import type { Cursor } from '@steward/event-store';
import type { TimelineSelector } from './timeline.service';

/** The few timeline reads the event store's API does not cover. */
export class TimelineRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * The commit-safe cursor of the entry at `position`, if that entry belongs
   * to the selected timeline. The selector's own index narrows the search;
   * a lookup by position alone would scan the whole table.
   */
  async cursorAt(selector: TimelineSelector, position: bigint): Promise<Cursor | undefined> {
    const where =
      selector.kind === 'run'
        ? 'run_id = $2'
        : selector.kind === 'workflow'
          ? 'workflow_id = $2'
          : selector.kind === 'correlation'
            ? 'correlation_id = $2'
            : "(stream_id = 'alert-' || $2 OR correlation_id = $2)";
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id, global_position FROM events WHERE global_position = $1 AND ${where}`,
      [position.toString(), selector.id],
    );
    const row = rows[0];
    return row && { transactionId: BigInt(row.transaction_id), globalPosition: BigInt(row.global_position) };
  }
}
