import { migrate } from '@steward/event-store';
import { eventually, startRebuildReplay, useTestEnvironment } from '@steward/testing';
import { startCostTracker, TestClock, type CostHarness } from '../testing/cost.harness';
import { usage } from '../testing/usage.fixture';

const PRICES = `
prices:
  - match: cpu-seconds
    usd: 0.0001
    from: 2026-01-01
  - match: wall-seconds
    usd: 0.00002
    from: 2026-01-01
`;

describe('rebuilding the cost projections from the store', () => {
  const env = useTestEnvironment({ label: 'costrebuild', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-10T11:00:00Z'));
  let h: CostHarness;

  beforeAll(async () => {
    h = await startCostTracker(env, clock, { REBUILD_POLL_MS: '100' });
    env.track({ end: () => h.close() });
    expect((await h.send('apply_prices', { yaml: PRICES })).status).toBe('completed');
    // Two workflows of two owners, one with a budget the usage crosses, runs and their usage.
    await h.processed(await usage.workflow(h, 'reports', 'team-a', { monthlyUsd: 0.001 }));
    await h.processed(await usage.workflow(h, 'ingest', 'team-b'));
    for (let i = 0; i < 12; i++) {
      const wf = i % 2 === 0 ? 'reports' : 'ingest';
      const runId = `${wf}-${i}`;
      await h.processed(await usage.run(h, runId, wf));
      await h.processed(await usage.succeeded(h, runId, wf, 'work', clock.now().toISOString(), { cpuMs: 1000 + i * 250, wallMs: 3000 + i }));
    }
  }, 60_000);

  const verdict = (replayId: string) =>
    eventually(async () => {
      const { rows } = await h.pool.query('SELECT consumed, applied, compared, skipped, differences, ok FROM projection_rebuilds WHERE replay_id = $1', [replayId]);
      if (rows.length === 0) throw new Error(`${replayId} not rebuilt yet`);
      return rows[0];
    }, 30_000);

  it('folds every stored event through the live batch path and finds records, spend, volume and attribution equal', async () => {
    const replay = await startRebuildReplay(h.store, env.nats.nc, env.nats.subjects, { replayId: 'cost-rb-1', consumer: 'cost-tracker', db: h.pool });
    const v = await verdict('cost-rb-1');
    expect(v).toMatchObject({ ok: true, differences: [], consumed: String(replay.total), applied: String(replay.total) });
    expect(Number(v.compared)).toBeGreaterThan(12 * 3);
    // The records were really rebuilt: the shadow holds the same money to the micro.
    const sum = async (table: string) => (await h.pool.query(`SELECT sum(amount_micros)::text AS s, count(*)::int AS n FROM ${table}`)).rows[0];
    expect(await sum('rebuild_cost_tracker.cost_records')).toEqual(await sum('cost_records'));
    // Threshold events the fold appended went to the shadow schema's events, never into the store.
    const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM events WHERE type = 'budget.threshold_crossed'`);
    const { rows: shadow } = await h.pool.query(`SELECT count(*)::int AS n FROM rebuild_cost_tracker.events WHERE type = 'budget.threshold_crossed'`);
    expect(rows[0].n).toBeGreaterThan(0);
    expect(shadow[0].n).toBe(rows[0].n);
  }, 60_000);

  it('names a spend counter that drifted from its records, and skips what arrived after the end', async () => {
    await h.pool.query(`UPDATE cost_spend SET spent_micros = spent_micros + 1 WHERE scope = 'owner' AND id = 'team-b'`);
    const replay = await startRebuildReplay(h.store, env.nats.nc, env.nats.subjects, { replayId: 'cost-rb-2', consumer: 'cost-tracker', db: h.pool });
    // Usage after the rebuild's end: the live rows it moves are not differences.
    await h.processed(await usage.succeeded(h, 'reports-0', 'reports', 'work', clock.now().toISOString(), { cpuMs: 5000 }));
    const v = await verdict(replay.replayId);
    expect(v.ok).toBe(false);
    expect(v.differences).toEqual([expect.stringMatching(/^cost_spend \["owner","team-b","2026-12"\]: spent_micros differ$/)]);
    expect(Number(v.skipped)).toBeGreaterThan(0);
  }, 60_000);
});
