import type { Pool } from 'pg';
import type { Metrics } from '@steward/observability';
import { forecastWeek, planCapacity, WEEK_MS, type CapacityPlan } from '../domain/capacity.forecast';
import { RESOURCES } from '../domain/usage.extract';

export interface CapacityOptions {
  /** Workers configured per task queue (COST_WORKER_CAPACITY). */
  capacity: ReadonlyMap<string, number>;
  weeks: number;
  targetUtilisation: number;
}

export const TOTAL_QUEUE = '_total';

/**
 * Next week's worker-seconds per task queue from the wall time of task
 * attempts (cost records of `wall-seconds` with a queue), compared with
 * configured workers. Plans are stored in cost_capacity_plans for the
 * gateway's ops report and exported as gauges for an autoscaler.
 */
export class CapacityPlanner {
  private readonly utilisation;
  private readonly forecastSeconds;
  private readonly replicas;

  constructor(
    private readonly pool: Pool,
    private readonly options: CapacityOptions,
    metrics: Metrics,
  ) {
    this.utilisation = metrics.gauge('steward_cost_capacity_utilisation_ratio', 'Worker capacity used: last 7 days (window=current) and forecast for the next 7 days (window=forecast)', ['queue', 'window']);
    this.forecastSeconds = metrics.gauge('steward_cost_capacity_forecast_worker_seconds', "Forecast worker-seconds for the next 7 days per task queue ('_total' for all)", ['queue']);
    this.replicas = metrics.gauge('steward_cost_capacity_recommended_replicas', 'Workers recommended per task queue so the busiest forecast hour runs at the target utilisation', ['queue']);
  }

  async plan(now: Date): Promise<CapacityPlan[]> {
    const since = new Date(now.getTime() - this.options.weeks * WEEK_MS);
    const { rows } = await this.pool.query<{ queue: string; hour: Date; seconds: string }>(
      `SELECT queue, date_trunc('hour', occurred_at) AS hour, sum(quantity)::text AS seconds
       FROM cost_records WHERE resource = $1 AND queue IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3
       GROUP BY 1, 2`,
      [RESOURCES.wall, since, now],
    );
    const byQueue = new Map<string, Array<{ hour: Date; workerSeconds: number }>>();
    for (const q of this.options.capacity.keys()) byQueue.set(q, []);
    for (const r of rows) {
      const list = byQueue.get(r.queue) ?? [];
      list.push({ hour: r.hour, workerSeconds: Number(r.seconds) });
      byQueue.set(r.queue, list);
    }
    const lastWeekStart = now.getTime() - WEEK_MS;
    const plans: CapacityPlan[] = [];
    const totalHourly = new Array<number>(168).fill(0);
    let totalLastWeek = 0;
    for (const [queue, history] of [...byQueue.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const hourly = forecastWeek(history, now, this.options.weeks);
      hourly.forEach((v, i) => (totalHourly[i]! += v));
      const lastWeek = history.filter((h) => h.hour.getTime() >= lastWeekStart).reduce((a, h) => a + h.workerSeconds, 0);
      totalLastWeek += lastWeek;
      plans.push(planCapacity(queue, hourly, lastWeek, this.options.capacity.get(queue), this.options.targetUtilisation));
    }
    const configured = [...this.options.capacity.values()];
    plans.push(planCapacity(TOTAL_QUEUE, totalHourly, totalLastWeek, configured.length > 0 ? configured.reduce((a, b) => a + b, 0) : undefined, this.options.targetUtilisation));
    await this.store(plans, now);
    this.export(plans);
    return plans;
  }

  private async store(plans: CapacityPlan[], now: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO cost_capacity_plans (queue, computed_at, plan) SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[])
       ON CONFLICT (queue) DO UPDATE SET computed_at = EXCLUDED.computed_at, plan = EXCLUDED.plan`,
      [plans.map((p) => p.queue), plans.map(() => now), plans.map((p) => JSON.stringify(p))],
    );
  }

  private export(plans: CapacityPlan[]): void {
    for (const p of plans) {
      if (p.currentUtilisation !== null) this.utilisation.set({ queue: p.queue, window: 'current' }, p.currentUtilisation);
      if (p.forecastUtilisation !== null) this.utilisation.set({ queue: p.queue, window: 'forecast' }, p.forecastUtilisation);
      this.forecastSeconds.set({ queue: p.queue }, p.forecastWorkerSeconds);
      this.replicas.set({ queue: p.queue }, p.recommendedReplicas);
    }
  }
}
