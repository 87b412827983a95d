import type { Queryable } from '@steward/event-store';

export type DeadLetterAction = 'requeue' | 'discard';

export interface DeadLetterActionRow {
  commandId: string;
  position: number;
  deadLetterId: string;
  action: DeadLetterAction;
  outcome: 'requeued' | 'discarded' | 'skipped';
  /** Why it was skipped. */
  reason?: string;
  events: string[];
  actor?: string;
  at: string;
}

/** executor_dead_letter_actions: one row per id of a bulk dead-letter command, in the id's own transaction. */
export class DeadLetterActionRepository {
  async record(tx: Queryable, row: DeadLetterActionRow): Promise<void> {
    await tx.query(
      `INSERT INTO executor_dead_letter_actions (command_id, position, dead_letter_id, action, outcome, reason, events, actor, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (command_id, position) DO NOTHING`,
      [row.commandId, row.position, row.deadLetterId, row.action, row.outcome, row.reason ?? null, row.events, row.actor ?? null, row.at],
    );
  }

  /** Every event type the command's ids recorded, in id order. */
  async recordedTypes(tx: Queryable, commandId: string): Promise<string[]> {
    const { rows } = await tx.query<{ type: string }>(
      `SELECT t.type FROM executor_dead_letter_actions a, unnest(a.events) WITH ORDINALITY AS t(type, n)
       WHERE a.command_id = $1 ORDER BY a.position, t.n`,
      [commandId],
    );
    return rows.map((r) => r.type);
  }
}
