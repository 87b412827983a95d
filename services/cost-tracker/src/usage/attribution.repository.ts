import type { Queryable } from '@steward/event-store';

export interface RunAttribution {
  workflowId: string;
  version: number;
  owner: string | null;
}

export interface StepTarget {
  service: string;
  queue: string | null;
}

/**
 * What the cost tracker knows about workflows, runs and steps, projected from
 * workflow.applied, run.requested, step.queued and the run outcomes, so each
 * cost record can name its workflow version, owner, service and task queue
 * (read back per batch by IngestContextRepository).
 */
export class AttributionRepository {
  async recordWorkflow(tx: Queryable, w: { id: string; version: number; owner: string; budgetMicros: bigint | null; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO cost_workflows (workflow_id, version, owner, budget_micros, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (workflow_id) DO UPDATE SET version = EXCLUDED.version, owner = EXCLUDED.owner, budget_micros = EXCLUDED.budget_micros, updated_at = EXCLUDED.updated_at
       WHERE cost_workflows.version <= EXCLUDED.version`,
      [w.id, w.version, w.owner, w.budgetMicros?.toString() ?? null, w.at],
    );
    await tx.query('INSERT INTO cost_workflow_versions (workflow_id, version, owner) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [w.id, w.version, w.owner]);
    // Events are handled concurrently: a run of this version may have been seen first.
    await tx.query('UPDATE cost_runs SET owner = $3 WHERE workflow_id = $1 AND version = $2 AND owner IS NULL', [w.id, w.version, w.owner]);
  }

  async recordRun(tx: Queryable, r: { runId: string; workflowId: string; version: number; requestedAt: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO cost_runs (run_id, workflow_id, version, owner, status, requested_at)
       VALUES ($1, $2, $3, (SELECT owner FROM cost_workflow_versions WHERE workflow_id = $2 AND version = $3), 'requested', $4)
       ON CONFLICT (run_id) DO NOTHING`,
      [r.runId, r.workflowId, r.version, r.requestedAt],
    );
  }

  async recordRunEnd(tx: Queryable, runId: string, status: string, endedAt: Date, durationMs: number | null): Promise<void> {
    await tx.query('UPDATE cost_runs SET status = $2, ended_at = $3, duration_ms = $4 WHERE run_id = $1', [runId, status, endedAt, durationMs]);
  }

  async recordStep(tx: Queryable, s: { runId: string; stepId: string; kind: string; service: string; queue: string | null }): Promise<void> {
    await tx.query(
      `INSERT INTO cost_steps (run_id, step_id, kind, service, queue) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id, step_id) DO UPDATE SET service = EXCLUDED.service, queue = EXCLUDED.queue`,
      [s.runId, s.stepId, s.kind, s.service, s.queue],
    );
  }
}
