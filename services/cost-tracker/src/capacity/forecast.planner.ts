import type { Pool } from 'pg';
import { localDayOf, localParts, monthBounds, periodOf } from '../domain/month.period';
import { forecastWithBand, type ForecastBand } from '../domain/spend.forecast';

export interface StoredForecast extends ForecastBand {
  scope: string;
  id: string;
  period: string;
}

/**
 * This month's forecast with its band for every budget and every scope that
 * spent something, from daily spend; stored in cost_forecasts for the
 * gateway's budget list.
 */
export class ForecastPlanner {
  constructor(
    private readonly pool: Pool,
    private readonly timeZone: string,
  ) {}

  async plan(now: Date): Promise<StoredForecast[]> {
    const period = periodOf(now, this.timeZone);
    const bounds = monthBounds(period, this.timeZone);
    const today = localDayOf(now, this.timeZone);
    const local = localParts(now, this.timeZone);
    const dayFraction = (local.hour * 3600 + local.minute * 60 + local.second) / 86_400 || 1 / 86_400;
    const { rows } = await this.pool.query<{ scope: string; id: string; day: string | null; micros: string | null }>(
      `SELECT k.scope, k.id, to_char(d.day, 'YYYY-MM-DD') AS day, d.micros::text
       FROM (SELECT scope, id FROM cost_budgets UNION SELECT scope, id FROM cost_spend WHERE period = $1) k
       LEFT JOIN cost_spend_daily d ON d.scope = k.scope AND d.id = k.id AND d.period = $1`,
      [period],
    );
    const byScope = new Map<string, { scope: string; id: string; days: Map<string, bigint> }>();
    for (const r of rows) {
      const key = `${r.scope}\u0000${r.id}`;
      const entry = byScope.get(key) ?? { scope: r.scope, id: r.id, days: new Map<string, bigint>() };
      if (r.day !== null && r.day <= today) entry.days.set(r.day, (entry.days.get(r.day) ?? 0n) + BigInt(r.micros ?? '0'));
      byScope.set(key, entry);
    }
    const dayNumbers = Array.from({ length: local.day }, (_, i) => `${period}-${String(i + 1).padStart(2, '0')}`);
    const out: StoredForecast[] = [...byScope.values()].map((s) => ({
      scope: s.scope,
      id: s.id,
      period,
      ...forecastWithBand(dayNumbers.map((d) => s.days.get(d) ?? 0n), bounds.days, dayFraction),
    }));
    if (out.length > 0) {
      await this.pool.query(
        `INSERT INTO cost_forecasts (scope, id, period, spent_micros, forecast_micros, low_micros, high_micros, computed_at)
         SELECT u.*, $8::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) AS u
         ON CONFLICT (scope, id, period) DO UPDATE SET spent_micros = EXCLUDED.spent_micros, forecast_micros = EXCLUDED.forecast_micros,
           low_micros = EXCLUDED.low_micros, high_micros = EXCLUDED.high_micros, computed_at = EXCLUDED.computed_at`,
        [
          out.map((f) => f.scope),
          out.map((f) => f.id),
          out.map((f) => f.period),
          out.map((f) => f.spentMicros.toString()),
          out.map((f) => f.forecastMicros.toString()),
          out.map((f) => f.lowMicros.toString()),
          out.map((f) => f.highMicros.toString()),
          now,
        ],
      );
    }
    return out;
  }
}
