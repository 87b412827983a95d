import type { Pool } from 'pg';
import { COST_RECONCILIATION_SQL, costReconciliationOf, type CostReconciliationRow } from '@steward/contracts';
import type { CheckResult, ProjectionChecker } from '../verify/projection.checker';

export type CostGroup = 'workflow' | 'owner' | 'service' | 'step';

export interface CostGroupRow {
  key: string;
  total_micros: string;
  runs: number;
  records: number;
  budget_micros: string | null;
  month_spent_micros: string | null;
}

export interface WeeklyPerformanceRow {
  workflow_id: string;
  week: string;
  cost_micros: string;
  runs: number;
  succeeded: number;
  rows: string;
  p50_duration_ms: number | null;
}

export interface BudgetRow {
  scope: string;
  id: string;
  monthly_micros: string;
  thresholds: Array<{ kind: string; percent?: number; amountMicros?: string }>;
  origin: string;
  set_at: Date;
  period: string;
  spent_micros: string;
  forecast_micros: string | null;
  low_micros: string | null;
  high_micros: string | null;
  forecast_at: Date | null;
  states: Record<string, string> | null;
}

export interface PriceRow {
  match: string;
  unit: string;
  from_at: Date;
  rate_micros: string;
  description: string | null;
  applied_at: Date;
}

const GROUP_KEY: Record<CostGroup, string> = {
  workflow: `coalesce(workflow_id, '(none)')`,
  owner: `coalesce(owner, '(unowned)')`,
  service: 'service',
  step: `coalesce(workflow_id, '(none)') || '/' || coalesce(step_id, '-')`,
};

/** The budget month in the cost tracker's time zone (cost_settings), so "this month" means what budgets mean by it. */
const CURRENT_PERIOD = `to_char(now() AT TIME ZONE coalesce((SELECT value FROM cost_settings WHERE key = 'timezone'), 'UTC'), 'YYYY-MM')`;

/**
 * Read-only queries on the cost tracker's tables (cost_records, cost_budgets,
 * cost_spend, cost_forecasts, cost_threshold_states, cost_prices), through
 * the gateway's read pool. Money stays bigint micro-USD as text end to end.
 */
export class CostReadsRepository {
  constructor(private readonly pool: Pool) {}

  async costsBy(group: CostGroup, since: Date): Promise<CostGroupRow[]> {
    const budgetScope = group === 'workflow' || group === 'owner' ? group : null;
    const { rows } = await this.pool.query<CostGroupRow>(
      `WITH g AS (
         SELECT ${GROUP_KEY[group]} AS key, sum(amount_micros) AS total, count(DISTINCT run_id)::int AS runs, count(*)::int AS records
         FROM cost_records WHERE occurred_at >= $1 GROUP BY 1
       )
       SELECT g.key, g.total::text AS total_micros, g.runs, g.records, b.monthly_micros::text AS budget_micros, s.spent_micros::text AS month_spent_micros
       FROM g
       LEFT JOIN cost_budgets b ON b.scope = $2 AND b.id = g.key
       LEFT JOIN cost_spend s ON s.scope = $2 AND s.id = g.key AND s.period = ${CURRENT_PERIOD}
       ORDER BY g.total DESC, g.key`,
      [since, budgetScope],
    );
    return rows;
  }

  /** Cost against performance per workflow and ISO week: cost, runs and successes, rows processed, median duration of successful runs. */
  async weeklyPerformance(since: Date): Promise<WeeklyPerformanceRow[]> {
    const { rows } = await this.pool.query<WeeklyPerformanceRow>(
      `WITH c AS (
         SELECT workflow_id, to_char(occurred_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week, sum(amount_micros) AS cost,
                coalesce(sum(quantity) FILTER (WHERE resource = 'transform-rows'), 0) AS rows
         FROM cost_records WHERE occurred_at >= $1 AND workflow_id IS NOT NULL GROUP BY 1, 2
       ), r AS (
         SELECT workflow_id, to_char(requested_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
                count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'timed_out'))::int AS runs,
                count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE status = 'succeeded') AS p50
         FROM cost_runs WHERE requested_at >= $1 GROUP BY 1, 2
       )
       SELECT coalesce(c.workflow_id, r.workflow_id) AS workflow_id, coalesce(c.week, r.week) AS week, coalesce(c.cost, 0)::text AS cost_micros,
              coalesce(r.runs, 0) AS runs, coalesce(r.succeeded, 0) AS succeeded, coalesce(c.rows, 0)::text AS rows, r.p50::float8 AS p50_duration_ms
       FROM c FULL JOIN r ON r.workflow_id = c.workflow_id AND r.week = c.week
       ORDER BY 1, 2`,
      [since],
    );
    return rows;
  }

  async budgets(after: { scope: string; id: string } | undefined, limit: number): Promise<BudgetRow[]> {
    const { rows } = await this.pool.query<BudgetRow>(
      `WITH p AS (SELECT ${CURRENT_PERIOD} AS period)
       SELECT b.scope, b.id, b.monthly_micros::text, b.thresholds, b.origin, b.set_at, p.period,
              coalesce(s.spent_micros, 0)::text AS spent_micros, f.forecast_micros::text, f.low_micros::text, f.high_micros::text, f.computed_at AS forecast_at,
              (SELECT jsonb_object_agg(t.key, t.state) FROM cost_threshold_states t WHERE t.scope = b.scope AND t.id = b.id AND t.period = p.period) AS states
       FROM cost_budgets b CROSS JOIN p
       LEFT JOIN cost_spend s ON s.scope = b.scope AND s.id = b.id AND s.period = p.period
       LEFT JOIN cost_forecasts f ON f.scope = b.scope AND f.id = b.id AND f.period = p.period
       WHERE ($1::text IS NULL OR (b.scope, b.id) > ($1::text, $2::text))
       ORDER BY b.scope, b.id LIMIT $3`,
      [after?.scope ?? null, after?.id ?? null, limit],
    );
    return rows;
  }

  async prices(after: { match: string; unit: string; from: string } | undefined, limit: number): Promise<PriceRow[]> {
    const { rows } = await this.pool.query<PriceRow>(
      `SELECT match, unit, from_at, rate_micros::text, description, applied_at FROM cost_prices
       WHERE ($1::text IS NULL OR (match, unit, from_at) > ($1::text, $2::text, $3::timestamptz))
       ORDER BY match, unit, from_at LIMIT $4`,
      [after?.match ?? null, after?.unit ?? null, after?.from ?? null, limit],
    );
    return rows;
  }
}

/** `steward verify`'s cost check; register it under PROJECTION_CHECKERS. */
export class CostReconciliationChecker implements ProjectionChecker {
  readonly name = 'cost_records';

  constructor(private readonly pool: Pool) {}

  async check(): Promise<CheckResult> {
    const exists = await this.pool.query<{ t: string | null }>(`SELECT to_regclass('cost_records')::text AS t`);
    if (exists.rows[0]?.t === null) return { ok: true, detail: 'no cost records: the cost tracker never ran against this database' };
    const { rows } = await this.pool.query<CostReconciliationRow>(COST_RECONCILIATION_SQL, [null]);
    const r = costReconciliationOf(rows[0]!);
    const sums = { total: r.totalMicros, byRuns: r.byRunsMicros, byServices: r.byServicesMicros, byWorkflows: r.byWorkflowsMicros };
    if (r.ok) return { ok: true, detail: `${r.records} cost records reconcile to ${r.totalMicros} micro-USD over runs, services and workflows`, ...sums };
    return { ok: false, detail: r.problems.join('; '), differences: r.problems, ...sums };
  }
}
