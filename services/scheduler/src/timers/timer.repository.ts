import type { Queryable } from '@steward/event-store';

export interface TimerRow {
  timerId: string;
  owner: string;
  dueAt: Date;
  payload: Record<string, unknown>;
  correlation: { correlationId: string; causationId?: string; traceparent?: string };
  /** workflowId / runId of the request, carried onto the fired event's metadata. */
  context: { workflowId?: string; runId?: string };
}

export interface TimerRequest extends TimerRow {}

/** scheduler_timers: every requested timer until it fired or was cancelled. */
export class TimerRepository {
  /** Requesting a timer id twice is one timer; a cancellation that arrived first wins. */
  async request(tx: Queryable, t: TimerRequest): Promise<void> {
    await tx.query(
      `INSERT INTO scheduler_timers (timer_id, owner, due_at, payload, correlation, context) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (timer_id) DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
         correlation = EXCLUDED.correlation, context = EXCLUDED.context
       WHERE scheduler_timers.due_at IS NULL`,
      [t.timerId, t.owner, t.dueAt, JSON.stringify(t.payload), JSON.stringify(t.correlation), JSON.stringify(t.context)],
    );
  }

  /**
   * `request` for many timers in one statement (the requests of a batch).
   * Rows are written in the order given; the first request of a timer id
   * counts, as if each had been written on its own.
   */
  async requestMany(tx: Queryable, ts: readonly TimerRequest[]): Promise<void> {
    const seen = new Set<string>();
    const rows = ts.filter((t) => !seen.has(t.timerId) && seen.add(t.timerId));
    if (rows.length === 1) return this.request(tx, rows[0]!);
    if (rows.length === 0) return;
    await tx.query({
      name: 'scheduler_request_timers',
      text: `INSERT INTO scheduler_timers (timer_id, owner, due_at, payload, correlation, context)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::jsonb[], $6::jsonb[])
       ON CONFLICT (timer_id) DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
         correlation = EXCLUDED.correlation, context = EXCLUDED.context
       WHERE scheduler_timers.due_at IS NULL`,
      values: [
        rows.map((t) => t.timerId),
        rows.map((t) => t.owner),
        rows.map((t) => t.dueAt),
        rows.map((t) => JSON.stringify(t.payload)),
        rows.map((t) => JSON.stringify(t.correlation)),
        rows.map((t) => JSON.stringify(t.context)),
      ],
    });
  }

  async cancel(tx: Queryable, timerId: string, owner: string): Promise<void> {
    await tx.query(
      `INSERT INTO scheduler_timers (timer_id, owner, cancelled) VALUES ($1, $2, true)
       ON CONFLICT (timer_id) DO UPDATE SET cancelled = true WHERE NOT scheduler_timers.fired`,
      [timerId, owner],
    );
  }

  /** Due timers, locked for this transaction; another replica skips them rather than waiting. */
  async claimDue(tx: Queryable, now: Date, limit: number): Promise<TimerRow[]> {
    const { rows } = await tx.query<{ timer_id: string; owner: string; due_at: Date; payload: Record<string, unknown>; correlation: TimerRow['correlation']; context: TimerRow['context'] }>(
      `SELECT timer_id, owner, due_at, payload, correlation, context FROM scheduler_timers
       WHERE NOT fired AND NOT cancelled AND due_at <= $1
       ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows.map((r) => ({ timerId: r.timer_id, owner: r.owner, dueAt: r.due_at, payload: r.payload, correlation: r.correlation, context: r.context }));
  }

  async markFired(tx: Queryable, timerIds: string[]): Promise<void> {
    await tx.query(`UPDATE scheduler_timers SET fired = true WHERE timer_id = ANY($1::text[])`, [timerIds]);
  }
}
