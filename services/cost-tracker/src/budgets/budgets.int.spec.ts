import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { startCostTracker, TestClock, type CostHarness } from '../testing/cost.harness';
import { usage } from '../testing/usage.fixture';

// Budgets run on Auckland months: December 2026 there starts at 2026-11-30T11:00Z
// (UTC+13) and ends at 2026-12-31T11:00Z.
const PRICES = `
prices:
  - match: cpu-seconds
    usd: 1
    from: 2026-01-01
`;

describe('budgets', () => {
  const env = useTestEnvironment({ label: 'costbudgets', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-10T11:00:00Z')); // Auckland 11 Dec 00:00: 10 of 31 days gone
  let h: CostHarness;
  let step = 0;

  beforeAll(async () => {
    h = await startCostTracker(env, clock, { COST_TIMEZONE: 'Pacific/Auckland' });
    env.track({ end: () => h.close() });
    expect((await h.send('apply_prices', { yaml: PRICES })).status).toBe('completed');
  }, 60_000);

  /** Spends `usd` (cpu-seconds at 1 USD) on a run of `workflowId` at `at`, and waits until it is counted. */
  async function spend(workflowId: string, usd: number, at = clock.now().toISOString()): Promise<string> {
    step += 1;
    const runId = `${workflowId}-${step}`;
    await h.processed(await usage.run(h, runId, workflowId));
    const id = await usage.succeeded(h, runId, workflowId, 'work', at, { cpuMs: usd * 1000 });
    await h.processed(id);
    return id;
  }

  it('reports each threshold once a month, the forecast one before the actual ones', async () => {
    await h.processed(await usage.workflow(h, 'reports', 'team-a', { monthlyUsd: 100 }));
    await spend('reports', 20); // 20 spent, forecast 62: nothing
    expect(await h.crossings('workflow', 'reports')).toEqual([]);
    const crossing = await spend('reports', 15); // 35 spent, forecast 108.5
    await spend('reports', 20); // 55
    await spend('reports', 30); // 85
    await spend('reports', 20); // 105
    await spend('reports', 10); // 115: every threshold is already in ALARM
    const crossed = await h.crossings('workflow', 'reports');
    expect(crossed.map((c) => `${c.period} ${c.key} ${c.state}`)).toEqual([
      '2026-12 forecast:100 ALARM',
      '2026-12 actual:50 ALARM',
      '2026-12 actual:80 ALARM',
      '2026-12 actual:100 ALARM',
    ]);
    // The usage that crossed it is the cause, so the crossing sits in that run's timeline.
    expect(crossed[0]!.metadata).toMatchObject({ causationId: crossing, correlationId: 'reports-2', runId: 'reports-2', workflowId: 'reports' });
    expect(crossed[0]!.data).toMatchObject({ scope: 'workflow', id: 'reports', workflowId: 'reports', owner: 'team-a', spentMicros: '35000000', forecastMicros: '108500000', budgetMicros: '100000000' });
    expect(crossed[3]!.data).toMatchObject({ spentMicros: '105000000', threshold: { kind: 'actual', percent: 100 } });
  });

  it('starts a new month at local midnight in the budget time zone', async () => {
    // 31 Dec 10:59:59Z is still December in Auckland; 11:00:01Z is already January.
    clock.set('2026-12-31T11:00:01Z');
    await spend('reports', 1, '2026-12-31T10:59:59Z');
    await spend('reports', 60, '2026-12-31T11:00:01Z');
    const { rows } = await h.pool.query(`SELECT period, spent_micros::text AS spent FROM cost_spend WHERE scope = 'workflow' AND id = 'reports' ORDER BY period`);
    expect(rows).toEqual([
      { period: '2026-12', spent: '116000000' },
      { period: '2027-01', spent: '60000000' },
    ]);
    const january = (await h.crossings('workflow', 'reports')).filter((c) => c.period === '2027-01');
    expect(january.map((c) => `${c.key} ${c.state}`)).toEqual(['forecast:100 ALARM', 'actual:50 ALARM']);
  });

  it('adds up an owner budget over all the workflows the owner owns', async () => {
    clock.set('2027-02-27T11:00:00Z'); // Auckland 28 Feb 00:00: 27 of 28 days gone
    await h.processed(await usage.workflow(h, 'wa', 'team-b'), await usage.workflow(h, 'wb', 'team-b'));
    const set = await h.send('set_budget', { scope: 'owner', id: 'team-b', monthlyUsd: 10, thresholds: [0.5, 1] });
    expect(set.status).toBe('completed');
    await spend('wa', 3);
    await spend('wb', 3); // owner at 6 of 10
    await spend('wa', 4); // owner at 10
    const crossed = await h.crossings('owner', 'team-b');
    expect(crossed.map((c) => `${c.key} ${c.state} ${c.data.spentMicros}`)).toEqual(['actual:50 ALARM 6000000', 'forecast:100 ALARM 10000000', 'actual:100 ALARM 10000000']);
    expect(crossed[0]!.data).toMatchObject({ scope: 'owner', id: 'team-b', owner: 'team-b', period: '2027-02' });
    expect(crossed[0]!.data.workflowId).toBeUndefined();
    expect(await h.crossings('workflow', 'wa')).toEqual([]);
  });

  it('reports OK for each threshold a raised budget no longer reaches', async () => {
    expect((await h.send('set_budget', { scope: 'owner', id: 'team-b', monthlyUsd: 100 })).status).toBe('completed');
    const crossed = await h.crossings('owner', 'team-b');
    expect(crossed.slice(3).map((c) => `${c.key} ${c.state}`)).toEqual(['forecast:100 OK', 'actual:50 OK', 'actual:100 OK']);
  });

  it('rejects a budget command naming the field at fault', async () => {
    const outcome = await h.send('set_budget', { scope: 'team', id: 'x', monthlyUsd: -1 });
    expect(outcome.status === 'rejected' && outcome.issues.map((i) => i.path).sort()).toEqual(['payload.monthlyUsd', 'payload.scope']);
  });
});
