import { START, type Cursor } from './cursor.model';
import type { Queryable } from './pool.factory';

/**
 * Named read positions of tailing readers (the ledger relay, projections).
 * Save one in the same transaction as the work it covers when that work is
 * in Postgres, or after the external side (a JetStream ack) confirmed it.
 */
export class CheckpointStore {
  constructor(private readonly db: Queryable) {}

  /** The saved cursor, or START for a reader that never saved one. */
  async load(name: string): Promise<Cursor> {
    const { rows } = await this.db.query<{ transaction_id: string; global_position: string }>({
      name: 'steward_checkpoint_load',
      text: 'SELECT transaction_id, global_position FROM checkpoints WHERE name = $1',
      values: [name],
    });
    const row = rows[0];
    return row ? { transactionId: BigInt(row.transaction_id), globalPosition: BigInt(row.global_position) } : { ...START };
  }

  async save(name: string, cursor: Cursor, tx?: Queryable): Promise<void> {
    await (tx ?? this.db).query({
      name: 'steward_checkpoint_save',
      text: `INSERT INTO checkpoints (name, transaction_id, global_position) VALUES ($1, $2::xid8, $3)
        ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
          global_position = EXCLUDED.global_position, updated_at = now()`,
      values: [name, cursor.transactionId.toString(), cursor.globalPosition.toString()],
    });
  }
}
