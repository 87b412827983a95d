import { WAKEUP_GATE } from './schema.migrations';
import type { Queryable } from './pool.factory';

/**
 * The listening side of append notifications. Appends notify EVENTS_CHANNEL
 * only while a listener holds this gate (notifying on every commit would
 * serialize all appenders), so a tailing reader that wants to sleep until
 * the next append does, on its own LISTENing connection:
 *
 *   read until a page comes back empty;
 *   if (!(await gate.arm())) -> appends are in flight: read again shortly;
 *   otherwise read once more (it catches appends that committed while
 *   arming); if that is empty too and `store.committedAfter(cursor)` is
 *   false, wait for a notification or the poll interval (if it is true, an
 *   older transaction holds committed events back: read again shortly);
 *   then `disarm()` and read.
 *
 * No wake-up is lost: `arm()` succeeds only when no append that skipped its
 * notification is still uncommitted, and every append after `arm()` notifies.
 * One armed listener per database (the ledger relay); others poll.
 */
export class WakeupGate {
  /** @param session a dedicated connection outside any transaction: the lock lives as long as the session. */
  constructor(private readonly session: Queryable) {}

  /** Claims the gate; false while an append transaction is open or another listener holds it. */
  async arm(): Promise<boolean> {
    const { rows } = await this.session.query<{ armed: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS armed', [...WAKEUP_GATE]);
    return rows[0]?.armed === true;
  }

  /** Stops appends from notifying; call it before reading after a wake-up. */
  async disarm(): Promise<void> {
    await this.session.query('SELECT pg_advisory_unlock($1, $2)', [...WAKEUP_GATE]);
  }
}
