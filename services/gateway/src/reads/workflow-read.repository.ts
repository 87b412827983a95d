import type { Pool } from 'pg';

export interface WorkflowListRow {
  id: string;
  version: number;
  owner: string;
  runbook: string;
  paused: boolean;
  schedule: Record<string, unknown> | null;
  next_due_at: Date | null;
  /** When its last run was requested (scheduled, triggered or manual): the store's last schedule.run_requested. */
  last_run_at: Date | null;
  updated_at: Date;
}

export interface WorkflowDetailRow extends WorkflowListRow {
  hash: string;
  definition: Record<string, unknown>;
  last_fired_at: Date | null;
  created_at: Date;
}

export interface WorkflowVersionRow {
  version: number;
  hash: string;
  file: string | null;
  applied_at: Date;
  applied_by: string | null;
}

/** SQLSTATE undefined_table: the scheduler has not created its projection in this database yet. */
export const UNDEFINED_TABLE = '42P01';

// Every run starts with the scheduler's schedule.run_requested: the newest one of a workflow is one
// backward probe of events_workflow_time_idx (a workflow's events are about nine per run).
const LAST_RUN = `LEFT JOIN LATERAL (
         SELECT e.occurred_at AS last_run_at FROM events e
         WHERE e.workflow_id = w.id AND e.type = 'schedule.run_requested' ORDER BY e.occurred_at DESC LIMIT 1
       ) r ON true`;

/**
 * Read-only queries on the scheduler's projection (scheduler_workflows,
 * scheduler_schedules, scheduler_workflow_versions). The scheduler owns and
 * writes these tables; the gateway only reads them, through the read pool.
 */
export class WorkflowReadRepository {
  constructor(private readonly pool: Pool) {}

  /** A page ordered by id; `after` is the last id of the previous page. */
  async listWorkflows(after: string | undefined, limit: number): Promise<WorkflowListRow[]> {
    const { rows } = await this.pool.query<WorkflowListRow>(
      `SELECT w.id, w.version, w.owner, w.runbook, w.paused, w.definition->'schedule' AS schedule, s.next_due_at, r.last_run_at, w.updated_at
       FROM scheduler_workflows w LEFT JOIN scheduler_schedules s ON s.workflow_id = w.id ${LAST_RUN}
       WHERE ($1::text IS NULL OR w.id > $1) ORDER BY w.id LIMIT $2`,
      [after ?? null, limit],
    );
    return rows;
  }

  async findWorkflow(id: string): Promise<WorkflowDetailRow | undefined> {
    const { rows } = await this.pool.query<WorkflowDetailRow>(
      `SELECT w.id, w.version, w.hash, w.owner, w.runbook, w.paused, w.definition, w.definition->'schedule' AS schedule,
              s.next_due_at, s.last_fired_at, r.last_run_at, w.created_at, w.updated_at
       FROM scheduler_workflows w LEFT JOIN scheduler_schedules s ON s.workflow_id = w.id ${LAST_RUN} WHERE w.id = $1`,
      [id],
    );
    return rows[0];
  }

  async listVersions(id: string): Promise<WorkflowVersionRow[]> {
    const { rows } = await this.pool.query<WorkflowVersionRow>(
      `SELECT version, hash, file, applied_at, applied_by FROM scheduler_workflow_versions WHERE workflow_id = $1 ORDER BY version DESC`,
      [id],
    );
    return rows;
  }
}
