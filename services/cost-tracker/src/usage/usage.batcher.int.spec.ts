import { allEvents, EventRegistry, toEnvelope, uuidv7, type EventEnvelope } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { Metrics } from '@steward/observability';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { BudgetRepository } from '../budgets/budget.repository';
import { BudgetService } from '../budgets/budget.service';
import { DEFAULT_THRESHOLDS } from '../domain/budget.evaluate';
import { PriceRepository } from '../prices/price.repository';
import { ensureCostSchema } from '../projection/cost.migrations';
import { AttributionRepository } from './attribution.repository';
import { CostIngestor } from './cost.ingestor';
import { usageBatcher, type UsageBatcher } from './usage.batcher';
import { UsageHandler } from './usage.handler';

function envelope(type: string, data: Record<string, unknown>): EventEnvelope {
  const id = uuidv7();
  return toEnvelope({ globalPosition: 1n, transactionId: 1n, streamId: `s-${id}`, streamVersion: 0, eventId: id, type, schemaVersion: 1, data, metadata: { source: 'executor', correlationId: id }, occurredAt: new Date() });
}

const usage = (runId: string) => envelope('step.succeeded', { runId, workflowId: 'wf', stepId: 'work', attempt: 1, outputs: {}, usage: { cpuMs: 1000 }, succeededAt: '2026-12-03T10:00:00Z' });

describe('usage batcher', () => {
  const env = useTestEnvironment({ label: 'costbatch', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let batcher: UsageBatcher;
  const metrics = new Metrics('cost-tracker');

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 6 }));
    await ensureCostSchema(pool, { timeZone: 'UTC' });
    const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'cost-tracker' });
    const budgetRepo = new BudgetRepository();
    const budgets = new BudgetService(store, budgetRepo, { timeZone: 'UTC', forecastMinElapsedMs: 86_400_000 });
    const attribution = new AttributionRepository();
    const ingestor = new CostIngestor(new PriceRepository(), budgetRepo, budgets, { timeZone: 'UTC', environment: 'test' });
    const handler = new UsageHandler(attribution, budgetRepo, budgets, ingestor, DEFAULT_THRESHOLDS);
    batcher = usageBatcher(pool, store, handler, { now: () => new Date('2026-12-03T10:00:00Z') }, { consumer: 'cost-tracker', maxBatch: 50, maxWaitMs: 5, parallel: 2 }, metrics);
  });

  const inbox = async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'cost-tracker'`)).rows[0]!.n;

  it('shares transactions between events handled at once and counts a duplicate in the same batch once', async () => {
    const events = Array.from({ length: 120 }, (_, i) => usage(`r-${i}`));
    await Promise.all([...events, events[0]!, events[1]!].map((e) => batcher.submit(e)));
    expect(await inbox()).toBe(120);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cost_records WHERE resource = 'cpu-seconds'`);
    expect(rows[0]!.n).toBe(120);
    const transactions = Number(/steward_cost_batch_events_count\{[^}]*\} (\d+)/.exec(await metrics.render())![1]);
    expect(transactions).toBeGreaterThanOrEqual(3); // at most 50 a batch
    expect(transactions).toBeLessThanOrEqual(10);
  });

  it('fails only the bad event of a batch, and commits the others', async () => {
    const good = Array.from({ length: 10 }, (_, i) => usage(`g-${i}`));
    // A step.queued without a target cannot be projected: it throws inside the batch.
    const bad = envelope('step.queued', { runId: 'x', workflowId: 'wf', stepId: 'work', kind: 'task' });
    const results = await Promise.allSettled([...good.slice(0, 5), bad, ...good.slice(5)].map((e) => batcher.submit(e)));
    expect(results.map((r) => r.status)).toEqual([...Array(5).fill('fulfilled'), 'rejected', ...Array(5).fill('fulfilled')]);
    expect(await inbox()).toBe(130);
    const { rows } = await pool.query(`SELECT 1 FROM inbox WHERE message_id = $1`, [bad.id]);
    expect(rows).toEqual([]);
    await batcher.drain();
  });
});
