import type { Pool } from 'pg';
import { createPool, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { systemClock, type Clock } from '../clock';
import { ensureCollectorSchema } from '../collector.migrations';
import { FixtureServer } from '../testing/fixture.server';
import { startCollector, type CollectorHarness } from '../testing/collector.harness';
import { SourceLimiter } from './source-limiter';

const env = useTestEnvironment({ label: 'collector-limits', setupDatabase: (url) => migrate(url) });

describe('source limits across replicas', () => {
  let pool: Pool;
  let now = Date.parse('2026-12-01T09:00:00Z');
  const clock: Clock = { now: () => new Date(now), sleep: async (ms) => void (now += ms) };

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 8 }));
    await ensureCollectorSchema(pool);
  });

  it('grants no more tokens than the rate allows when two limiters race on one database', async () => {
    const a = new SourceLimiter(pool, clock, 'a');
    const b = new SourceLimiter(pool, clock, 'b');
    const limits = { rate: { count: 3, perMs: 60_000 }, leaseMs: 10_000 };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tryAcquire('race.fetch', limits)));
    expect(results.filter((r) => r.granted)).toHaveLength(3);
    const refused = results.find((r) => !r.granted);
    expect(refused).toMatchObject({ granted: false, reason: 'rate_limit', waitMs: 20_000 });
    now += 20_000;
    expect(await a.tryAcquire('race.fetch', limits)).toMatchObject({ granted: true });
    expect(await b.tryAcquire('race.fetch', limits)).toMatchObject({ granted: false });
  });

  it('holds a concurrency limit with leases that are released, or expire when a replica dies', async () => {
    const a = new SourceLimiter(pool, clock, 'a');
    const b = new SourceLimiter(pool, clock, 'b');
    const limits = { concurrency: 1, leaseMs: 5_000 };
    const first = await a.tryAcquire('slots.fetch', limits);
    expect(first.granted).toBe(true);
    expect(await b.tryAcquire('slots.fetch', limits)).toMatchObject({ granted: false, reason: 'concurrency' });
    if (first.granted) await first.release();
    const second = await b.tryAcquire('slots.fetch', limits);
    expect(second.granted).toBe(true);
    // b "dies" holding its slot: after the lease expiry a takes over.
    expect(await a.tryAcquire('slots.fetch', limits)).toMatchObject({ granted: false });
    now += 5_001;
    expect(await a.tryAcquire('slots.fetch', limits)).toMatchObject({ granted: true });
  });

  it('waits in place for a token up to the bound, then answers with the time still to wait', async () => {
    const a = new SourceLimiter(pool, clock, 'a');
    const limits = { rate: { count: 1, perMs: 1_000 }, leaseMs: 1_000 };
    expect((await a.acquire('wait.fetch', limits, 0)).granted).toBe(true);
    const before = now;
    expect((await a.acquire('wait.fetch', limits, 2_000)).granted).toBe(true);
    expect(now - before).toBe(1_000);
    expect(await a.acquire('wait.fetch', limits, 500)).toMatchObject({ granted: false, waitMs: 1_000 });
  });

  describe('two collector instances sharing one database', () => {
    let fixture: FixtureServer;
    let one: CollectorHarness;
    let two: CollectorHarness;

    beforeAll(async () => {
      fixture = env.track(await new FixtureServer().start());
      const limitEnv = { COLLECTOR_LIMIT_MAX_WAIT_MS: '0' };
      one = await startCollector(env, { instance: 'one', clock: systemClock, env: limitEnv });
      env.track({ end: () => one.close() });
      two = await startCollector(env, { instance: 'two', clock: systemClock, env: limitEnv });
      env.track({ end: () => two.close() });
    }, 60_000);

    it('never fetches over the source rate limit, whichever replica takes the step', async () => {
      const url = fixture.route('/limited', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
      const spec = { source: { kind: 'http', url, method: 'GET', headers: {}, query: {} }, rateLimit: { count: 2, perMs: 60_000 } };
      const runs = [];
      for (let i = 0; i < 6; i++) runs.push(await one.queue(spec, { workflowId: 'limited' }));
      const done = await Promise.all(runs.map((r) => one.result(r.runId, 1, 4_000).then(() => 1).catch(() => 0)));
      expect(done.reduce<number>((n, x) => n + x, 0)).toBe(2);
      expect(fixture.count('/limited')).toBe(2);
      const limited = [...one.logs, ...two.logs].filter((l) => l.msg === 'source limit reached, message handed back');
      expect(limited.length).toBeGreaterThanOrEqual(4);
    }, 30_000);
  });
});
