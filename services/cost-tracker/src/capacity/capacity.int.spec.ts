import { allEvents, EventRegistry, Subjects, uuidv7 } from '@steward/contracts';
import { createPool, EventStore, migrate, unitOfWork } from '@steward/event-store';
import { PresenceDirectory, PresenceReporter } from '@steward/messaging';
import { Metrics } from '@steward/observability';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { BudgetRepository } from '../budgets/budget.repository';
import { BudgetService } from '../budgets/budget.service';
import { hourOfWeek, HOURS_PER_WEEK } from '../domain/capacity.forecast';
import { PriceRepository } from '../prices/price.repository';
import { ensureCostSchema } from '../projection/cost.migrations';
import { CostIngestor, type IngestEvent } from '../usage/cost.ingestor';
import { CapacityPlanner, TOTAL_QUEUE } from './capacity.planner';
import { ForecastPlanner } from './forecast.planner';
import { UptimeSampler } from './uptime.sampler';

/** Worker-seconds an hour: weekday office hours are busy, nights and weekends quiet. */
function pattern(how: number): number {
  const weekday = Math.floor(how / 24) < 5;
  const hour = how % 24;
  return (weekday ? 600 : 120) + (weekday && hour >= 8 && hour < 18 ? 5400 : 0);
}

describe('capacity planning', () => {
  const env = useTestEnvironment({ label: 'costcapacity', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let ingestor: CostIngestor;
  const now = new Date('2026-11-30T00:00:00Z'); // a Monday

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    await ensureCostSchema(pool, { timeZone: 'UTC' });
    const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'cost-tracker' });
    const budgetRepo = new BudgetRepository();
    ingestor = new CostIngestor(new PriceRepository(), budgetRepo, new BudgetService(store, budgetRepo, { timeZone: 'UTC', forecastMinElapsedMs: 86_400_000 }), { timeZone: 'UTC', environment: 'test' });
    await unitOfWork(pool, async (tx) => {
      await tx.query(`INSERT INTO cost_steps (run_id, step_id, kind, service, queue) VALUES ('run-etl', 'work', 'task', 'worker', 'etl'), ('run-ml', 'work', 'task', 'worker', 'ml')`);
      await new PriceRepository().apply(tx, [{ match: 'wall-seconds', rateMicros: '10', from: '2026-01-01T00:00:00Z' }], now);
    });
  });

  it('forecasts next week from a noisy weekly pattern within 2 % and recommends replicas', async () => {
    let seed = 42;
    const noise = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 0.1; // +-5 %
    };
    const events: IngestEvent[] = [];
    for (let h = 0; h < 4 * HOURS_PER_WEEK; h++) {
      const at = new Date(now.getTime() - (4 * HOURS_PER_WEEK - h) * 3_600_000 + 60_000).toISOString();
      const wallMs = Math.round(pattern(hourOfWeek(new Date(at))) * (1 + noise()) * 1000);
      events.push({ id: uuidv7(), type: 'step.succeeded', source: 'executor', time: at, data: { runId: 'run-etl', workflowId: 'etl-flow', stepId: 'work', usage: { wallMs }, succeededAt: at } });
      if (h % 24 === 12) events.push({ id: uuidv7(), type: 'step.succeeded', source: 'executor', time: at, data: { runId: 'run-ml', workflowId: 'ml-flow', stepId: 'work', usage: { wallMs: 1_800_000 }, succeededAt: at } });
    }
    for (let i = 0; i < events.length; i += 200) await unitOfWork(pool, (tx) => ingestor.ingest(tx, events.slice(i, i + 200), now, { metadata: { correlationId: 'capacity' } }));

    const metrics = new Metrics('cost-tracker');
    const plans = await new CapacityPlanner(pool, { capacity: new Map([['etl', 4], ['ml', 1]]), weeks: 4, targetUtilisation: 0.7 }, metrics).plan(now);
    const truth = Array.from({ length: HOURS_PER_WEEK }, (_, i) => pattern(i)).reduce((a, b) => a + b, 0);
    const etl = plans.find((p) => p.queue === 'etl')!;
    expect(Math.abs(etl.forecastWorkerSeconds - truth) / truth).toBeLessThan(0.02);
    // Busiest hour ~6000 worker-seconds = 1.67 workers; at 70 % that is 3 replicas.
    expect(etl.recommendedReplicas).toBe(3);
    expect(etl.forecastUtilisation).toBeCloseTo(truth / (4 * 604_800), 2);
    const ml = plans.find((p) => p.queue === 'ml')!;
    expect(ml).toMatchObject({ forecastWorkerSeconds: 7 * 1800, recommendedReplicas: 1, configuredWorkers: 1 });
    expect(plans.find((p) => p.queue === TOTAL_QUEUE)).toMatchObject({ configuredWorkers: 5 });

    const text = await metrics.render();
    expect(text).toMatch(/steward_cost_capacity_utilisation_ratio\{.*queue="etl".*window="forecast".*\} 0\.14\d+/);
    expect(text).toMatch(/steward_cost_capacity_recommended_replicas\{.*queue="etl".*\} 3/);
    const { rows } = await pool.query(`SELECT queue FROM cost_capacity_plans ORDER BY queue`);
    expect(rows.map((r) => r.queue)).toEqual([TOTAL_QUEUE, 'etl', 'ml']);
  });

  it('stores this month’s forecast with a band for every scope that spent', async () => {
    const forecasts = await new ForecastPlanner(pool, 'UTC').plan(new Date('2026-11-29T12:00:00Z'));
    const etl = forecasts.find((f) => f.scope === 'workflow' && f.id === 'etl-flow')!;
    expect(etl.period).toBe('2026-11');
    expect(etl.forecastMicros).toBeGreaterThan(etl.spentMicros);
    expect(etl.highMicros).toBeGreaterThan(etl.forecastMicros);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM cost_forecasts WHERE period = '2026-11'`);
    expect(rows[0].n).toBe(forecasts.length);
  });

  it('samples uptime from presence, counting expected services that never reported as down', async () => {
    const subjects = new Subjects(env.nats.namespace);
    const reporter = new PresenceReporter(env.nats.nc, subjects, { service: 'executor', instance: 'x1', intervalMs: 1000 });
    await reporter.start();
    try {
      const up = await new UptimeSampler(pool, new PresenceDirectory(env.nats.nc, subjects), ['executor', 'alerter']).sample(now);
      expect([...up]).toEqual([['alerter', false], ['executor', true]]);
    } finally {
      await reporter.stop();
    }
    const { rows } = await pool.query(`SELECT service, up FROM cost_uptime_samples ORDER BY service`);
    expect(rows).toEqual([{ service: 'alerter', up: false }, { service: 'executor', up: true }]);
  });
});
