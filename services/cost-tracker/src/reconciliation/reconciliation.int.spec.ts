import { allEvents, EventRegistry, uuidv7 } from '@steward/contracts';
import { createPool, EventStore, migrate, unitOfWork } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { BudgetRepository } from '../budgets/budget.repository';
import { BudgetService } from '../budgets/budget.service';
import { multiply, parseDecimal, roundHalfEven, shift } from '../domain/money';
import { PriceRepository } from '../prices/price.repository';
import { ensureCostSchema } from '../projection/cost.migrations';
import { AttributionRepository } from '../usage/attribution.repository';
import { CostIngestor, type IngestEvent } from '../usage/cost.ingestor';
import { checkReconciliation } from './reconciliation.check';

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('reconciliation', () => {
  const env = useTestEnvironment({ label: 'costrecon', setupDatabase: (url) => migrate(url) });
  let pool: Pool;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    await ensureCostSchema(pool);
  });

  it('sums 10,000 random records to the same micro over runs, services, workflows and budget counters', async () => {
    const random = rng(20261203);
    const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'cost-tracker' });
    const prices = new PriceRepository();
    const budgetRepo = new BudgetRepository();
    const ingestor = new CostIngestor(prices, budgetRepo, new BudgetService(store, budgetRepo, { timeZone: 'Europe/Berlin', forecastMinElapsedMs: 86_400_000 }), {
      timeZone: 'Europe/Berlin',
      environment: 'test',
    });
    // Rates with fractions of a micro, so nearly every record rounds.
    await unitOfWork(pool, (tx) =>
      prices.apply(tx, [
        { match: 'cpu-seconds', rateMicros: '12.3457', from: '2026-01-01T00:00:00Z' },
        { match: 'wall-seconds', rateMicros: '0.71', from: '2026-01-01T00:00:00Z' },
        { match: 'api:*:tokens', rateMicros: '1.5', from: '2026-01-01T00:00:00Z' },
        { match: 'collection-requests', rateMicros: '333.5', from: '2026-01-01T00:00:00Z' },
      ], new Date()),
    );
    const workflows = ['alpha', 'beta', 'gamma', 'delta'];
    const owners = { alpha: 'team-a', beta: 'team-a', gamma: 'team-b', delta: 'team-c' } as Record<string, string>;
    for (const w of workflows) {
      await unitOfWork(pool, (tx) => new AttributionRepository().recordWorkflow(tx, { id: w, version: 1, owner: owners[w]!, budgetMicros: null, at: new Date() }));
    }

    let expected = 0n;
    let records = 0;
    const events: IngestEvent[] = [];
    while (records < 9_999) {
      const workflowId = workflows[Math.floor(random() * workflows.length)]!;
      const runId = random() < 0.1 ? undefined : `run-${Math.floor(random() * 500)}`;
      const cpuMs = Math.floor(random() * 5_000_000) / 10; // 0.1 ms resolution
      const wallMs = Math.floor(random() * 9_000_000);
      const tokens = Math.floor(random() * 100_000);
      const at = new Date(Date.UTC(2026, 10 + Math.floor(random() * 3), 1 + Math.floor(random() * 28), Math.floor(random() * 24))).toISOString();
      events.push({
        id: uuidv7(),
        type: 'step.succeeded',
        source: random() < 0.5 ? 'executor' : 'worker-sdk',
        time: at,
        data: { ...(runId !== undefined && { runId }), workflowId, stepId: 's', usage: { cpuMs, wallMs }, reportedUsage: [{ provider: 'openai', model: 'm', units: tokens, unit: 'tokens' }], succeededAt: at },
      });
      expected += roundHalfEven(multiply(shift(parseDecimal(String(cpuMs)), 3), parseDecimal('12.3457')));
      expected += roundHalfEven(multiply(shift(parseDecimal(String(wallMs)), 3), parseDecimal('0.71')));
      expected += roundHalfEven(multiply(parseDecimal(String(tokens)), parseDecimal('1.5')));
      records += 3;
    }
    // One more record, from a capture, to make it exactly 10,000.
    events.push({ id: uuidv7(), type: 'collection.raw_captured', source: 'collector', time: '2026-12-24T12:00:00Z', data: { workflowId: 'alpha', capturedAt: '2026-12-24T12:00:00Z' } });
    records += 1;
    expect(records).toBe(10_000);
    expected += 334n; // one request at 333.5 micros: half to even
    for (let i = 0; i < events.length; i += 250) {
      await unitOfWork(pool, (tx) => ingestor.ingest(tx, events.slice(i, i + 250), new Date('2027-01-15T00:00:00Z'), { metadata: { correlationId: 'recon' } }));
    }

    const check = await checkReconciliation(pool);
    expect(check).toEqual({
      ok: true,
      records: String(records),
      totalMicros: expected.toString(),
      byRunsMicros: expected.toString(),
      byServicesMicros: expected.toString(),
      byWorkflowsMicros: expected.toString(),
      counterMismatches: 0,
      dailyMismatches: 0,
      problems: [],
    });
    const december = await checkReconciliation(pool, '2026-12');
    expect(december.ok).toBe(true);
    expect(BigInt(december.totalMicros)).toBeLessThan(expected);
  }, 120_000);

  it('notices a budget counter that drifted from its records', async () => {
    await pool.query(`UPDATE cost_spend SET spent_micros = spent_micros + 1 WHERE (scope, id, period) = (SELECT scope, id, period FROM cost_spend LIMIT 1)`);
    expect(await checkReconciliation(pool)).toMatchObject({ ok: false, counterMismatches: 1, dailyMismatches: 1, problems: ['1 budget counters differ from their records', '1 budget counters differ from their daily split'] });
  });
});
