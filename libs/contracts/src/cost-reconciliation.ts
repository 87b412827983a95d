/**
 * The cost reconciliation `steward verify` runs, over the cost tracker's
 * tables (the gateway reads them; the cost tracker checks itself with the
 * same statement). A contract between the two like an event schema: change
 * the tables and this together. Every figure is an exact sum of bigint
 * micro-USD (numeric in SQL), so "equal" means equal to the micro:
 * - the total of all cost records equals the sum of the per-run totals
 *   (records without a run form one group), the per-service totals and the
 *   per-workflow totals;
 * - the running budget counters (cost_spend, cost_spend_daily) equal the
 *   records they were built from, per workflow and per owner and month.
 * `$1`: one period (`YYYY-MM`) or null for all.
 */
export const COST_RECONCILIATION_SQL = `
WITH r AS (SELECT run_id, service, workflow_id, owner, period, amount_micros FROM cost_records WHERE ($1::text IS NULL OR period = $1)),
by_run AS (SELECT sum(amount_micros) AS s FROM r GROUP BY run_id),
by_service AS (SELECT sum(amount_micros) AS s FROM r GROUP BY service),
by_workflow AS (SELECT sum(amount_micros) AS s FROM r GROUP BY workflow_id),
rec AS (
  SELECT 'workflow' AS scope, workflow_id AS id, period, sum(amount_micros) AS s FROM r WHERE workflow_id IS NOT NULL GROUP BY 2, 3
  UNION ALL
  SELECT 'owner', owner, period, sum(amount_micros) FROM r WHERE owner IS NOT NULL GROUP BY 2, 3
),
spend AS (SELECT scope, id, period, spent_micros::numeric AS s FROM cost_spend WHERE ($1::text IS NULL OR period = $1)),
daily AS (SELECT scope, id, period, sum(micros) AS s FROM cost_spend_daily WHERE ($1::text IS NULL OR period = $1) GROUP BY 1, 2, 3)
SELECT
  (SELECT count(*) FROM r)::text                                   AS records,
  (SELECT coalesce(sum(amount_micros), 0) FROM r)::text            AS total_micros,
  (SELECT coalesce(sum(s), 0) FROM by_run)::text                   AS by_runs_micros,
  (SELECT coalesce(sum(s), 0) FROM by_service)::text               AS by_services_micros,
  (SELECT coalesce(sum(s), 0) FROM by_workflow)::text              AS by_workflows_micros,
  (SELECT count(*) FROM rec FULL JOIN spend USING (scope, id, period) WHERE coalesce(rec.s, 0) <> coalesce(spend.s, 0))::int AS counter_mismatches,
  (SELECT count(*) FROM spend FULL JOIN daily USING (scope, id, period) WHERE coalesce(spend.s, 0) <> coalesce(daily.s, 0))::int AS daily_mismatches
`;

/** The row COST_RECONCILIATION_SQL returns. */
export interface CostReconciliationRow {
  records: string;
  total_micros: string;
  by_runs_micros: string;
  by_services_micros: string;
  by_workflows_micros: string;
  counter_mismatches: number;
  daily_mismatches: number;
}

export interface CostReconciliation {
  ok: boolean;
  records: string;
  totalMicros: string;
  byRunsMicros: string;
  byServicesMicros: string;
  byWorkflowsMicros: string;
  counterMismatches: number;
  dailyMismatches: number;
  /** What does not reconcile, one line each; empty when ok. */
  problems: string[];
}

export function costReconciliationOf(r: CostReconciliationRow): CostReconciliation {
  const problems: string[] = [];
  const sums = { byRuns: r.by_runs_micros, byServices: r.by_services_micros, byWorkflows: r.by_workflows_micros };
  for (const [name, value] of Object.entries(sums)) if (value !== r.total_micros) problems.push(`sum ${name} ${value} != total ${r.total_micros} micro-USD`);
  if (r.counter_mismatches > 0) problems.push(`${r.counter_mismatches} budget counters differ from their records`);
  if (r.daily_mismatches > 0) problems.push(`${r.daily_mismatches} budget counters differ from their daily split`);
  return {
    ok: problems.length === 0,
    records: r.records,
    totalMicros: r.total_micros,
    byRunsMicros: r.by_runs_micros,
    byServicesMicros: r.by_services_micros,
    byWorkflowsMicros: r.by_workflows_micros,
    counterMismatches: r.counter_mismatches,
    dailyMismatches: r.daily_mismatches,
    problems,
  };
}
