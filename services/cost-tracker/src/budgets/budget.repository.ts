import type { Queryable } from '@steward/event-store';
import type { Threshold, ThresholdState } from '../domain/budget.evaluate';

export type Scope = 'workflow' | 'owner';

export interface Budget {
  scope: Scope;
  id: string;
  monthlyMicros: bigint;
  thresholds: Threshold[];
  origin: string;
}

export interface SpendDelta {
  scope: Scope;
  id: string;
  period: string;
  day: string;
  micros: bigint;
}

/** What deciding a budget's thresholds for one month reads. */
export interface ThresholdInput {
  budget: Budget;
  states: Map<string, ThresholdState>;
  /** The owner a crossing names: the owner scope itself, or the workflow's owner. */
  owner?: string;
}

/** Key of a (scope, id, month) spend total, as thresholdInputs keys its answer. */
export function spendKey(t: { scope: Scope; id: string; period: string }): string {
  return `${t.scope}\u0000${t.id}\u0000${t.period}`;
}

export interface SpendTotal {
  scope: Scope;
  id: string;
  period: string;
  spentMicros: bigint;
}

/** Budgets, running spend per scope and month, and threshold states (cost_budgets, cost_spend*, cost_threshold_states). */
export class BudgetRepository {
  async find(tx: Queryable, scope: Scope, id: string): Promise<Budget | undefined> {
    const { rows } = await tx.query<{ monthly_micros: string; thresholds: Threshold[]; origin: string }>({
      name: 'cost_budget_find',
      text: 'SELECT monthly_micros::text, thresholds, origin FROM cost_budgets WHERE scope = $1 AND id = $2',
      values: [scope, id],
    });
    const r = rows[0];
    return r === undefined ? undefined : { scope, id, monthlyMicros: BigInt(r.monthly_micros), thresholds: r.thresholds, origin: r.origin };
  }

  async save(tx: Queryable, b: Budget, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO cost_budgets (scope, id, monthly_micros, thresholds, origin, set_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (scope, id) DO UPDATE SET monthly_micros = EXCLUDED.monthly_micros, thresholds = EXCLUDED.thresholds, origin = EXCLUDED.origin, set_at = EXCLUDED.set_at`,
      [b.scope, b.id, b.monthlyMicros.toString(), JSON.stringify(b.thresholds), b.origin, at],
    );
  }

  /**
   * Adds spend and returns the month totals of every touched scope. The
   * upsert row-locks each (scope, id, month) until commit, which serialises
   * threshold decisions for one budget across concurrent handlers; rows are
   * taken in key order so two batches cannot deadlock.
   */
  async addSpend(tx: Queryable, deltas: readonly SpendDelta[]): Promise<SpendTotal[]> {
    if (deltas.length === 0) return [];
    const monthly = new Map<string, SpendTotal>();
    const daily = new Map<string, SpendDelta>();
    for (const d of deltas) {
      const mk = `${d.scope}\u0000${d.id}\u0000${d.period}`;
      const m = monthly.get(mk) ?? { scope: d.scope, id: d.id, period: d.period, spentMicros: 0n };
      m.spentMicros += d.micros;
      monthly.set(mk, m);
      const dk = `${d.scope}\u0000${d.id}\u0000${d.day}`;
      const e = daily.get(dk) ?? { ...d, micros: 0n };
      e.micros += d.micros;
      daily.set(dk, e);
    }
    const months = [...monthly.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    const { rows } = await tx.query<{ scope: Scope; id: string; period: string; spent_micros: string }>({
      name: 'cost_spend_add',
      text: `INSERT INTO cost_spend (scope, id, period, spent_micros)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
             ON CONFLICT (scope, id, period) DO UPDATE SET spent_micros = cost_spend.spent_micros + EXCLUDED.spent_micros
             RETURNING scope, id, period, spent_micros::text`,
      values: [months.map((m) => m.scope), months.map((m) => m.id), months.map((m) => m.period), months.map((m) => m.spentMicros.toString())],
    });
    const days = [...daily.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    await tx.query({
      name: 'cost_spend_daily_add',
      text: `INSERT INTO cost_spend_daily (scope, id, day, period, micros)
             SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[])
             ON CONFLICT (scope, id, day) DO UPDATE SET micros = cost_spend_daily.micros + EXCLUDED.micros`,
      values: [days.map((d) => d.scope), days.map((d) => d.id), days.map((d) => d.day), days.map((d) => d.period), days.map((d) => d.micros.toString())],
    });
    return rows.map((r) => ({ scope: r.scope, id: r.id, period: r.period, spentMicros: BigInt(r.spent_micros) }));
  }

  /**
   * For each spend total that has a budget: the budget, its threshold states
   * for the total's month and the owner the crossing names, in one query.
   * Read after addSpend locked the totals' rows, so no other transaction
   * changes these states before this one commits.
   */
  async thresholdInputs(tx: Queryable, totals: readonly SpendTotal[]): Promise<Map<string, ThresholdInput>> {
    const out = new Map<string, ThresholdInput>();
    if (totals.length === 0) return out;
    const { rows } = await tx.query<{ scope: Scope; id: string; period: string; monthly_micros: string; thresholds: Threshold[]; origin: string; states: Record<string, ThresholdState>; owner: string | null }>({
      name: 'cost_threshold_inputs',
      text: `SELECT k.scope, k.id, k.period, b.monthly_micros::text, b.thresholds, b.origin,
                    (SELECT coalesce(json_object_agg(s.key, s.state), '{}') FROM cost_threshold_states s WHERE s.scope = k.scope AND s.id = k.id AND s.period = k.period) AS states,
                    CASE WHEN k.scope = 'owner' THEN k.id ELSE (SELECT w.owner FROM cost_workflows w WHERE w.workflow_id = k.id) END AS owner
             FROM unnest($1::text[], $2::text[], $3::text[]) AS k(scope, id, period)
             JOIN cost_budgets b ON b.scope = k.scope AND b.id = k.id`,
      values: [totals.map((t) => t.scope), totals.map((t) => t.id), totals.map((t) => t.period)],
    });
    for (const r of rows) {
      out.set(spendKey(r), {
        budget: { scope: r.scope, id: r.id, monthlyMicros: BigInt(r.monthly_micros), thresholds: r.thresholds, origin: r.origin },
        states: new Map(Object.entries(r.states)),
        ...(r.owner !== null && { owner: r.owner }),
      });
    }
    return out;
  }

  async saveState(tx: Queryable, s: { scope: Scope; id: string; period: string; key: string; state: ThresholdState; spentMicros: bigint; forecastMicros: bigint; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO cost_threshold_states (scope, id, period, key, state, spent_micros, forecast_micros, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (scope, id, period, key) DO UPDATE SET state = EXCLUDED.state, spent_micros = EXCLUDED.spent_micros, forecast_micros = EXCLUDED.forecast_micros, changed_at = EXCLUDED.changed_at`,
      [s.scope, s.id, s.period, s.key, s.state, s.spentMicros.toString(), s.forecastMicros.toString(), s.at],
    );
  }

}
