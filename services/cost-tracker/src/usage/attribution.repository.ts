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
 * cost record can name its workflow version, owner, service and task queue.
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

  async runs(tx: Queryable, runIds: string[]): Promise<Map<string, RunAttribution>> {
    const out = new Map<string, RunAttribution>();
    if (runIds.length === 0) return out;
    const { rows } = await tx.query<{ run_id: string; workflow_id: string; version: number; owner: string | null }>({
      name: 'cost_attribution_runs',
      text: 'SELECT run_id, workflow_id, version, owner FROM cost_runs WHERE run_id = ANY($1::text[])',
      values: [runIds],
    });
    for (const r of rows) out.set(r.run_id, { workflowId: r.workflow_id, version: r.version, owner: r.owner });
    return out;
  }

  /** Keyed `runId/stepId`. */
  async steps(tx: Queryable, runIds: string[]): Promise<Map<string, StepTarget>> {
    const out = new Map<string, StepTarget>();
    if (runIds.length === 0) return out;
    const { rows } = await tx.query<{ run_id: string; step_id: string; service: string; queue: string | null }>({
      name: 'cost_attribution_steps',
      text: 'SELECT run_id, step_id, service, queue FROM cost_steps WHERE run_id = ANY($1::text[])',
      values: [runIds],
    });
    for (const r of rows) out.set(`${r.run_id}/${r.step_id}`, { service: r.service, queue: r.queue });
    return out;
  }

  /** Current owner and version of workflows, for usage that names a workflow but no run this tracker saw. */
  async workflows(tx: Queryable, ids: string[]): Promise<Map<string, { version: number; owner: string; budgetMicros: bigint | null }>> {
    const out = new Map<string, { version: number; owner: string; budgetMicros: bigint | null }>();
    if (ids.length === 0) return out;
    const { rows } = await tx.query<{ workflow_id: string; version: number; owner: string; budget_micros: string | null }>({
      name: 'cost_attribution_workflows',
      text: 'SELECT workflow_id, version, owner, budget_micros::text FROM cost_workflows WHERE workflow_id = ANY($1::text[])',
      values: [ids],
    });
    for (const r of rows) out.set(r.workflow_id, { version: r.version, owner: r.owner, budgetMicros: r.budget_micros === null ? null : BigInt(r.budget_micros) });
    return out;
  }
}
