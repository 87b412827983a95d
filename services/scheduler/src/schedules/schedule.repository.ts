import type { Queryable } from '@steward/event-store';
import type { WorkflowDefinition } from '@steward/workflow';

export interface DueSchedule {
  workflowId: string;
  cursor: Date;
  version: number;
  hash: string;
  definition: WorkflowDefinition;
}

/** scheduler_schedules: each time-based schedule's cursor and next fire time. */
export class ScheduleRepository {
  /** The cursor, locked until the caller's transaction ends; null for a workflow without a row yet. */
  async lockCursor(tx: Queryable, workflowId: string): Promise<Date | null> {
    const { rows } = await tx.query<{ last_fired_at: Date }>(`SELECT last_fired_at FROM scheduler_schedules WHERE workflow_id = $1 FOR UPDATE`, [workflowId]);
    return rows[0]?.last_fired_at ?? null;
  }

  async save(tx: Queryable, workflowId: string, cursor: Date, nextDueAt: Date | null): Promise<void> {
    await tx.query(
      `INSERT INTO scheduler_schedules (workflow_id, last_fired_at, next_due_at) VALUES ($1, $2, $3)
       ON CONFLICT (workflow_id) DO UPDATE SET last_fired_at = EXCLUDED.last_fired_at, next_due_at = EXCLUDED.next_due_at`,
      [workflowId, cursor, nextDueAt],
    );
  }

  async remove(tx: Queryable, workflowId: string): Promise<void> {
    await tx.query(`DELETE FROM scheduler_schedules WHERE workflow_id = $1`, [workflowId]);
  }

  /**
   * One due schedule of an unpaused workflow, locked for this transaction.
   * SKIP LOCKED lets replicas share the work instead of queueing on one row;
   * correctness does not depend on it (each occurrence has its own stream).
   */
  async claimNextDue(tx: Queryable, now: Date, skip: string[]): Promise<DueSchedule | null> {
    const { rows } = await tx.query<{ workflow_id: string; last_fired_at: Date; version: number; hash: string; definition: WorkflowDefinition }>(
      `SELECT s.workflow_id, s.last_fired_at, w.version, w.hash, w.definition
       FROM scheduler_schedules s JOIN scheduler_workflows w ON w.id = s.workflow_id
       WHERE s.next_due_at <= $1 AND NOT w.paused AND s.workflow_id <> ALL($2::text[])
       ORDER BY s.next_due_at LIMIT 1
       FOR UPDATE OF s SKIP LOCKED`,
      [now, skip],
    );
    const r = rows[0];
    return r ? { workflowId: r.workflow_id, cursor: r.last_fired_at, version: r.version, hash: r.hash, definition: r.definition } : null;
  }
}
