import type { Pool, PoolClient } from 'pg';
import { ValidationError } from '@steward/contracts';
import type { EventStore } from './event.store';

/** Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
export async function unitOfWork<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      // The connection is in an unknown state; release(err) destroys it.
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

export type ProcessOnceResult<T> = { status: 'processed'; result: T } | { status: 'duplicate' };

/**
 * Exactly-once effects for at-least-once delivery: the inbox entry, whatever
 * `fn` appends and the projections it updates commit together or not at all.
 * A redelivered message finds its inbox row and does nothing. A concurrent
 * duplicate blocks on the primary key until the first commits (then it is a
 * duplicate) or rolls back (then it runs).
 */
export async function processOnce<T>(
  pool: Pool,
  store: EventStore,
  consumer: string,
  messageId: string,
  fn: (tx: PoolClient, store: EventStore) => Promise<T>,
): Promise<ProcessOnceResult<T>> {
  if (!consumer || !messageId) {
    throw new ValidationError('processOnce needs a consumer and a message id', [
      { path: consumer ? 'messageId' : 'consumer', message: 'expected a non-empty string' },
    ]);
  }
  return unitOfWork(pool, async (tx): Promise<ProcessOnceResult<T>> => {
    const { rowCount } = await tx.query({
      name: 'steward_inbox_claim',
      text: 'INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      values: [consumer, messageId],
    });
    if (rowCount === 0) return { status: 'duplicate' };
    return { status: 'processed', result: await fn(tx, store) };
  });
}
