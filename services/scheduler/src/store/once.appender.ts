import { ConcurrencyError, type NewEvent } from '@steward/contracts';
import type { EventStore } from '@steward/event-store';
import type { PoolClient } from 'pg';

const SAVEPOINT = 'scheduler_append_once';

/**
 * Appends the first and only event(s) of a stream named by an idempotency
 * key (an occurrence, a timer, a triggering event). `duplicate` means another
 * replica or an earlier attempt already wrote it: exactly what must not
 * happen twice did not. The savepoint keeps the caller's transaction usable.
 */
export async function appendOnce(tx: PoolClient, store: EventStore, streamId: string, events: NewEvent[]): Promise<'appended' | 'duplicate'> {
  await tx.query(`SAVEPOINT ${SAVEPOINT}`);
  try {
    await store.append(streamId, events, { expected: 'no_stream', tx });
    await tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    return 'appended';
  } catch (err) {
    if (!(err instanceof ConcurrencyError)) throw err;
    await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    return 'duplicate';
  }
}
