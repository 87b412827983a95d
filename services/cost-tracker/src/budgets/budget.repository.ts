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

  async states(tx: Queryable, scope: Scope, id: string, period: string): Promise<Map<string, ThresholdState>> {
    const { rows } = await tx.query<{ key: string; state: ThresholdState }>({
      name: 'cost_threshold_states',
      text: 'SELECT key, state FROM cost_threshold_states WHERE scope = $1 AND id = $2 AND period = $3',
      values: [scope, id, period],
    });
    return new Map(rows.map((r) => [r.key, r.state]));
  }

  async saveState(tx: Queryable, s: { scope: Scope; id: string; period: string; key: string; state: ThresholdState; spentMicros: bigint; forecastMicros: bigint; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO cost_threshold_states (scope, id, period, key, state, spent_micros, forecast_micros, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (scope, id, period, key) DO UPDATE SET state = EXCLUDED.state, spent_micros = EXCLUDED.spent_micros, forecast_micros = EXCLUDED.forecast_micros, changed_at = EXCLUDED.changed_at`,
      [s.scope, s.id, s.period, s.key, s.state, s.spentMicros.toString(), s.forecastMicros.toString(), s.at],
    );
  }

  async ownerOf(tx: Queryable, workflowId: string): Promise<string | undefined> {
    const { rows } = await tx.query<{ owner: string }>('SELECT owner FROM cost_workflows WHERE workflow_id = $1', [workflowId]);
    return rows[0]?.owner;
  }
}
