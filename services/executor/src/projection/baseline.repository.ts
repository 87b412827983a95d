import type { Queryable } from '@steward/event-store';

/**
 * Duration baselines per workflow (step_id '') and per step: rolling median
 * and p95 over the last N successful runs. Failed and cancelled runs are left
 * out: they end early or late for reasons that are not the workflow's speed,
 * and the alerter compares against what a good run takes.
 */
export class BaselineRepository {
  constructor(private readonly window: number) {}

  async refresh(tx: Queryable, workflowId: string, at: string): Promise<void> {
    // Named: planned once per connection (about 1.5 ms a plan, on every batch that ended a run).
    await tx.query({
      name: 'executor_refresh_baseline',
      text: `WITH recent AS (
         SELECT run_id, duration_ms FROM executor_runs
         WHERE workflow_id = $1 AND status = 'succeeded' AND duration_ms IS NOT NULL
         ORDER BY ended_at DESC, run_id DESC LIMIT $2
       ),
       samples AS (
         SELECT '' AS step_id, duration_ms FROM recent
         UNION ALL
         SELECT s.step_id, s.duration_ms FROM executor_steps s JOIN recent r ON r.run_id = s.run_id
         WHERE s.status = 'succeeded' AND s.duration_ms IS NOT NULL
       )
       INSERT INTO executor_duration_baselines (workflow_id, step_id, samples, median_ms, p95_ms, updated_at)
       SELECT $1, step_id, count(*),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)),
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)), $3
       FROM samples GROUP BY step_id ORDER BY step_id
       ON CONFLICT (workflow_id, step_id) DO UPDATE SET samples = EXCLUDED.samples, median_ms = EXCLUDED.median_ms,
         p95_ms = EXCLUDED.p95_ms, updated_at = EXCLUDED.updated_at`,
      values: [workflowId, this.window, at],
    });
  }
}
