import type { Pool } from 'pg';

export interface RunOutcomeRow {
  status: string;
  runs: number;
}

export interface AlertStatsRow {
  fired: number;
  acknowledged: number;
  resolved: number;
  never_acknowledged: number;
  non_critical: number;
  mttd_ms: number | null;
  mtta_ms: number | null;
  mttr_ms: number | null;
  detected: number;
}

export interface SeverityRow {
  severity: string;
  incidents: number;
}

export interface UptimeRow {
  service: string;
  samples: number;
  up: number;
  first_sample: Date;
  last_sample: Date;
}

export interface CapacityPlanRow {
  queue: string;
  computed_at: Date;
  plan: Record<string, unknown>;
}

/**
 * Read-only queries behind `steward reports ops`, each on the projection of
 * the service that owns it: executor_runs (executor), alerter_alerts
 * (alerter), cost_uptime_samples and cost_capacity_plans (cost tracker).
 * `exists` tells a part whose service never ran (no table) from one with no
 * data in the window, so the report can say "missing" instead of zero.
 */
export class OpsReportRepository {
  constructor(private readonly pool: Pool) {}

  async existing(tables: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ name: string; present: boolean }>(
      'SELECT t AS name, to_regclass(t) IS NOT NULL AS present FROM unnest($1::text[]) AS t',
      [tables],
    );
    return new Set(rows.filter((r) => r.present).map((r) => r.name));
  }

  async runOutcomes(since: Date): Promise<RunOutcomeRow[]> {
    const { rows } = await this.pool.query<RunOutcomeRow>('SELECT status, count(*)::int AS runs FROM executor_runs WHERE requested_at >= $1 GROUP BY status ORDER BY status', [since]);
    return rows;
  }

  /**
   * MTTD: impact start to firing; MTTA: firing to acknowledgement; MTTR:
   * firing (detection) to resolution. Over alerts that fired in the window.
   */
  async alertStats(since: Date): Promise<AlertStatsRow> {
    const { rows } = await this.pool.query<AlertStatsRow>(
      `SELECT count(*)::int AS fired,
              count(acknowledged_at)::int AS acknowledged,
              count(resolved_at)::int AS resolved,
              count(*) FILTER (WHERE acknowledged_at IS NULL)::int AS never_acknowledged,
              count(*) FILTER (WHERE severity <> 'critical')::int AS non_critical,
              count(impact_started_at)::int AS detected,
              (avg(extract(epoch FROM fired_at - impact_started_at)) * 1000)::float8 AS mttd_ms,
              (avg(extract(epoch FROM acknowledged_at - fired_at)) * 1000)::float8 AS mtta_ms,
              (avg(extract(epoch FROM resolved_at - fired_at)) * 1000)::float8 AS mttr_ms
       FROM alerter_alerts WHERE fired_at >= $1`,
      [since],
    );
    return rows[0]!;
  }

  async incidentsBySeverity(since: Date): Promise<SeverityRow[]> {
    const { rows } = await this.pool.query<SeverityRow>('SELECT severity, count(*)::int AS incidents FROM alerter_alerts WHERE fired_at >= $1 GROUP BY severity ORDER BY severity', [since]);
    return rows;
  }

  async uptime(since: Date): Promise<UptimeRow[]> {
    const { rows } = await this.pool.query<UptimeRow>(
      `SELECT service, count(*)::int AS samples, count(*) FILTER (WHERE up)::int AS up, min(sampled_at) AS first_sample, max(sampled_at) AS last_sample
       FROM cost_uptime_samples WHERE sampled_at >= $1 GROUP BY service ORDER BY service`,
      [since],
    );
    return rows;
  }

  async capacityPlans(): Promise<CapacityPlanRow[]> {
    const { rows } = await this.pool.query<CapacityPlanRow>('SELECT queue, computed_at, plan FROM cost_capacity_plans ORDER BY queue');
    return rows;
  }

  async spend(since: Date): Promise<{ total_micros: string; records: number }> {
    const { rows } = await this.pool.query<{ total_micros: string; records: number }>('SELECT coalesce(sum(amount_micros), 0)::text AS total_micros, count(*)::int AS records FROM cost_records WHERE occurred_at >= $1', [since]);
    return rows[0]!;
  }
}
