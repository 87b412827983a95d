import type { Queryable } from '@steward/event-store';
import type { WorkflowDefinition } from '@steward/workflow';

export interface WorkflowRow {
  id: string;
  version: number;
  hash: string;
  definition: WorkflowDefinition;
  paused: boolean;
}

export interface TriggerRow extends WorkflowRow {
  /** The event type its `on:` schedule names. */
  triggerOn: string;
  /** Only events stored after this position trigger runs. */
  triggerAfter: bigint;
}

export interface AppliedVersion {
  id: string;
  version: number;
  hash: string;
  definition: WorkflowDefinition;
  owner: string;
  runbook: string;
  file?: string;
  appliedAt: Date;
  appliedBy?: string;
  streamVersion: number;
  triggerOn: string | null;
  /** Global position of the workflow.applied event. */
  position: bigint;
}

/** scheduler_workflows and scheduler_workflow_versions: the scheduler's view of applied workflows. */
export class WorkflowRepository {
  /** Newest stream version wins, so an event handled late never rolls the row back. */
  async saveApplied(tx: Queryable, w: AppliedVersion): Promise<void> {
    await tx.query(
      `INSERT INTO scheduler_workflows (id, version, hash, definition, owner, runbook, paused, stream_version, trigger_on, trigger_after, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9, $10, $10)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, hash = EXCLUDED.hash, definition = EXCLUDED.definition,
         owner = EXCLUDED.owner, runbook = EXCLUDED.runbook, stream_version = EXCLUDED.stream_version,
         -- A trigger that did not change keeps its start position: events between the two applies still count.
         trigger_after = CASE WHEN scheduler_workflows.trigger_on IS NOT DISTINCT FROM EXCLUDED.trigger_on
                              THEN scheduler_workflows.trigger_after ELSE EXCLUDED.trigger_after END,
         trigger_on = EXCLUDED.trigger_on, updated_at = EXCLUDED.updated_at
       WHERE scheduler_workflows.stream_version < EXCLUDED.stream_version`,
      [w.id, w.version, w.hash, JSON.stringify(w.definition), w.owner, w.runbook, w.streamVersion, w.triggerOn, w.triggerOn === null ? null : w.position.toString(), w.appliedAt],
    );
    await tx.query(
      `INSERT INTO scheduler_workflow_versions (workflow_id, version, hash, file, applied_at, applied_by)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [w.id, w.version, w.hash, w.file ?? null, w.appliedAt, w.appliedBy ?? null],
    );
  }

  async setPaused(tx: Queryable, id: string, paused: boolean, streamVersion: number, at: Date): Promise<void> {
    await tx.query(
      `UPDATE scheduler_workflows SET paused = $2, stream_version = $3, updated_at = $4 WHERE id = $1 AND stream_version < $3`,
      [id, paused, streamVersion, at],
    );
  }

  /** Unpaused workflows with an `on: <type>` schedule, for any of `types`. */
  async findTriggeredByAny(db: Queryable, types: string[]): Promise<TriggerRow[]> {
    const { rows } = await db.query<{ id: string; version: number; hash: string; definition: WorkflowDefinition; paused: boolean; trigger_on: string; trigger_after: string }>(
      `SELECT id, version, hash, definition, paused, trigger_on, trigger_after FROM scheduler_workflows WHERE trigger_on = ANY($1::text[]) AND NOT paused`,
      [types],
    );
    return rows.map((r) => ({ id: r.id, version: r.version, hash: r.hash, definition: r.definition, paused: r.paused, triggerOn: r.trigger_on, triggerAfter: BigInt(r.trigger_after) }));
  }

  /** Every type an applied workflow's `on:` schedule names (paused ones included: they resume without a restart). */
  async findTriggerTypes(db: Queryable): Promise<string[]> {
    const { rows } = await db.query<{ trigger_on: string }>(`SELECT DISTINCT trigger_on FROM scheduler_workflows WHERE trigger_on IS NOT NULL`);
    return rows.map((r) => r.trigger_on);
  }
}
