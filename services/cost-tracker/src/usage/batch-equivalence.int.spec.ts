import { allEvents, EventRegistry, toEnvelope, uuidv7, type EventEnvelope } from '@steward/contracts';
import { createPool, EventStore, migrate, unitOfWork } from '@steward/event-store';
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
import { usageBatcher } from './usage.batcher';
import { UsageHandler } from './usage.handler';

const NOW = new Date('2026-12-10T12:00:00Z');
const HASH = 'a'.repeat(64);

function envelope(type: string, data: Record<string, unknown>, source = 'executor'): EventEnvelope {
  const id = uuidv7();
  return toEnvelope({ globalPosition: 1n, transactionId: 1n, streamId: `s-${id}`, streamVersion: 0, eventId: id, type, schemaVersion: 1, data, metadata: { source, correlationId: id }, occurredAt: NOW });
}

/**
 * Three workflows (two owners, two budgets that the usage crosses), their
 * runs and steps, then usage: task attempts with cpu, memory, wall time and
 * reported usage (one with a reported cost), a capture and a transformation,
 * and usage of a run the tracker never saw (attributed by its workflow).
 */
function history(): EventEnvelope[] {
  const workflows = [
    { id: 'wf-a', owner: 'team-1', budget: { monthlyUsd: 0.02 } },
    { id: 'wf-b', owner: 'team-1', budget: { monthlyUsd: 0.05 } },
    { id: 'wf-c', owner: 'team-2' },
  ];
  const out: EventEnvelope[] = workflows.map((w) =>
    envelope('workflow.applied', { id: w.id, version: 3, hash: HASH, definition: {}, owner: w.owner, runbook: 'r.md', ...(w.budget && { budget: w.budget }), appliedAt: NOW.toISOString() }, 'scheduler'),
  );
  for (const w of workflows) {
    for (let r = 0; r < 3; r++) {
      const runId = `${w.id}-run-${r}`;
      out.push(envelope('run.requested', { runId, workflowId: w.id, version: 3, hash: HASH, trigger: { kind: 'manual' }, input: {}, definition: {}, requestedAt: NOW.toISOString() }));
      out.push(envelope('step.queued', { runId, workflowId: w.id, stepId: 'work', version: 3, attempt: 1, kind: 'task', target: { service: 'worker', queue: `q-${w.id}` }, spec: {}, input: { inputs: {}, outputs: {} }, timeouts: { startToCloseMs: 60_000 }, queuedAt: NOW.toISOString() }));
    }
  }
  for (let i = 0; i < 60; i++) {
    const w = workflows[i % 3]!;
    const runId = i % 17 === 0 ? `${w.id}-unseen-${i}` : `${w.id}-run-${i % 3}`;
    const reported = [{ provider: 'openai', model: 'gpt-4o', units: 1000 + i, unit: 'tokens' }, ...(i % 7 === 0 ? [{ provider: 'openai', model: 'gpt-4o', units: 1, unit: 'tokens', costUsd: 0.0123 }] : [])];
    out.push(envelope('step.succeeded', { runId, workflowId: w.id, stepId: 'work', attempt: 1, outputs: {}, usage: { cpuMs: 1234 + i * 37, maxRssKb: 70_000 + i, wallMs: 2000 + i * 11 }, reportedUsage: reported, succeededAt: new Date(NOW.getTime() - i * 60_000).toISOString() }));
  }
  out.push(envelope('collection.raw_captured', { captureId: uuidv7(), source: 'wf-c.fetch', workflowId: 'wf-c', runId: 'wf-c-run-0', stepId: 'fetch', attempt: 1, fingerprint: 'b'.repeat(64), request: { kind: 'http', target: 'https://x.example/a.csv', method: 'GET' }, status: 200, contentType: 'text/csv', size: 123_456, sha256: 'c'.repeat(64), headers: {}, durationMs: 40, body: { storage: 'blob', sha256: 'c'.repeat(64) }, capturedAt: NOW.toISOString() }, 'collector'));
  out.push(envelope('transformation.completed', { transform: 't@1', dataset: 'd', datasetVersion: 1, captureId: uuidv7(), source: 'wf-c.fetch', workflowId: 'wf-c', runId: 'wf-c-run-0', stepId: 'normalize', counts: { rows: 777, upserted: 700, unchanged: 70, quarantined: 7 }, durationMs: 9, completedAt: NOW.toISOString() }, 'transformer'));
  return out;
}

describe('usage batches', () => {
  const env = useTestEnvironment({ label: 'costbatcheq', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let handler: UsageHandler;
  let store: EventStore;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 6 }));
    await ensureCostSchema(pool, { timeZone: 'UTC' });
    store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'cost-tracker' });
    const budgetRepo = new BudgetRepository();
    const budgets = new BudgetService(store, budgetRepo, { timeZone: 'UTC', forecastMinElapsedMs: 86_400_000 });
    const prices = new PriceRepository();
    handler = new UsageHandler(new AttributionRepository(), budgetRepo, budgets, new CostIngestor(prices, budgetRepo, budgets, { timeZone: 'UTC', environment: 'test' }), DEFAULT_THRESHOLDS);
    await unitOfWork(pool, (tx) =>
      prices.apply(tx, [
        { match: 'cpu-seconds', rateMicros: '12.3457', from: '2026-01-01T00:00:00Z' },
        { match: 'memory-gb-seconds', rateMicros: '1.67', from: '2026-01-01T00:00:00Z' },
        { match: 'wall-seconds', rateMicros: '0.71', from: '2026-01-01T00:00:00Z' },
        { match: 'api:*:tokens', rateMicros: '1.5', from: '2026-01-01T00:00:00Z' },
        { match: 'collection-*', rateMicros: '0.5', from: '2026-01-01T00:00:00Z' },
        { match: 'transform-rows', rateMicros: '3.3', from: '2026-01-01T00:00:00Z' },
        { match: 'events-stored', rateMicros: '0.1', from: '2026-01-01T00:00:00Z' },
      ], NOW),
    );
  });

  /** Every row the tracker keeps from usage, and the threshold states; ordered, without the write time. */
  async function outcome(sinceGlobal: string) {
    const q = async (sql: string, values: unknown[] = []) => (await pool.query(sql, values)).rows;
    return {
      records: await q(`SELECT source_event_id, line, event_type, occurred_at, period, resource, unit, quantity::text, duration_ms, rate_micros::text, rate_source, price_match, price_from,
                               amount_micros::text, workflow_id, workflow_version, run_id, step_id, service, queue, owner, environment
                        FROM cost_records ORDER BY source_event_id, line`),
      spend: await q(`SELECT scope, id, period, spent_micros::text FROM cost_spend ORDER BY 1, 2, 3`),
      daily: await q(`SELECT scope, id, day::text, micros::text FROM cost_spend_daily WHERE micros <> 0 ORDER BY 1, 2, 3`),
      volume: await q(`SELECT source, day::text, events::text FROM cost_event_volume ORDER BY 1, 2`),
      states: await q(`SELECT scope, id, period, key, state FROM cost_threshold_states ORDER BY 1, 2, 3, 4`),
      // Which budgets crossed which thresholds; the amounts at the crossing differ by design (one batch adds all at once).
      crossings: await q(`SELECT DISTINCT stream_id, data->>'state' AS state, (data->'threshold')::text AS threshold FROM events WHERE type = 'budget.threshold_crossed' AND global_position > $1 ORDER BY 1, 2, 3`, [sinceGlobal]),
    };
  }

  async function reset(): Promise<string> {
    await pool.query(`TRUNCATE cost_records, cost_spend, cost_spend_daily, cost_event_volume, cost_threshold_states, cost_budgets, cost_workflows, cost_workflow_versions, cost_runs, cost_steps`);
    await pool.query(`DELETE FROM inbox WHERE consumer = 'cost-tracker'`);
    return (await pool.query<{ p: string }>(`SELECT coalesce(max(global_position), 0)::text AS p FROM events`)).rows[0]!.p;
  }

  it('stores the same records and totals from one batch with duplicates inside as from one event at a time', async () => {
    const events = history();
    const clock = { now: () => NOW };

    const oneAtATime = usageBatcher(pool, store, handler, clock, { consumer: 'cost-tracker', maxBatch: 1, maxWaitMs: 0, parallel: 1 }, new Metrics('cost-tracker'));
    let since = await reset();
    for (const e of events) expect(await oneAtATime.submit(e)).toBe('processed');
    expect(await oneAtATime.submit(events[40]!)).toBe('duplicate');
    const expected = await outcome(since);

    const metrics = new Metrics('cost-tracker');
    const batched = usageBatcher(pool, store, handler, clock, { consumer: 'cost-tracker', maxBatch: 1000, maxWaitMs: 50, parallel: 1 }, metrics);
    since = await reset();
    // Usage redelivered inside the same batch: before, between and after its first copy.
    const deliveries = [events[40]!, ...events.slice(0, 45), events[40]!, events[44]!, ...events.slice(45), events[60]!];
    const statuses = await Promise.all(deliveries.map((e) => batched.submit(e)));
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(4);
    const rendered = await metrics.render();
    expect(/steward_cost_batch_events_count\{[^}]*\} (\d+)/.exec(rendered)![1]).toBe('1'); // really one transaction
    const actual = await outcome(since);

    expect(expected.records.length).toBeGreaterThan(250);
    expect([...new Set(expected.records.map((r) => r.workflow_id))]).toEqual(expect.arrayContaining(['wf-a', 'wf-b', 'wf-c']));
    expect(expected.crossings.length).toBeGreaterThan(2); // both budgets cross thresholds
    expect(actual).toEqual(expected);
  });

  it('counts events that get past a rebuilt inbox once, in a batch with new ones', async () => {
    const events = history();
    const clock = { now: () => NOW };
    const batched = usageBatcher(pool, store, handler, clock, { consumer: 'cost-tracker', maxBatch: 1000, maxWaitMs: 50, parallel: 1 }, new Metrics('cost-tracker'));
    const since = await reset();
    const [first, later] = [events.slice(0, 50), events.slice(50)];
    await Promise.all(first.map((e) => batched.submit(e)));
    const before = await outcome(since);
    // The inbox loses the usage events (a rebuilt inbox); they come again with events not seen yet.
    await pool.query(`DELETE FROM inbox WHERE consumer = 'cost-tracker' AND message_id = ANY($1::text[])`, [first.slice(20).map((e) => e.id)]);
    expect(await Promise.all([...first.slice(20), ...later].map((e) => batched.submit(e)))).toEqual(Array(30 + later.length).fill('processed'));
    const after = await outcome(since);

    // The same as delivering everything once.
    await reset();
    await Promise.all(events.map((e) => batched.submit(e)));
    const once = await outcome(since);
    expect(after.records.length).toBeGreaterThan(before.records.length);
    // Event volume counts what gets past the inbox (an event with no records leaves no other trace), so it counts them again.
    expect({ ...after, crossings: [], volume: [] }).toEqual({ ...once, crossings: [], volume: [] });
  });
});
