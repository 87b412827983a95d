import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { migrate } from '@steward/event-store';
import { CommandBus } from '@steward/messaging';
import { eventually, freePort, useTestEnvironment, startStoreRelay } from '@steward/testing';
import { captureEnvelope, LedgerStandIn } from '../testing/replay.fixture';
import { appendCapture, captureOf, eventsOfType, EXAMPLE_TRANSFORMS, startTransformer, testStore, type CaptureData } from '../testing/transformer.harness';
import { ReplayRepository } from './replay.repository';

const env = useTestEnvironment({ setupDatabase: (url) => migrate(url).then(() => undefined) });
const MAIN = join(__dirname, '../../dist/main.js');
const N = 10_000;
/** Short, so the batch a killed instance held comes back to the next one quickly. */
const ACK_WAIT = { TRANSFORMER_ACK_WAIT_MS: '5000' };

/**
 * 10,000 captures of one CSV row each. Every 10th has a lower-case SKU
 * (version 1 refuses it, version 2 upper-cases it: added), every 10th+1 an
 * empty description (version 1 keeps it, version 2 refuses it: removed),
 * every 10th+2 a bad price (both refuse it); the rest are in both, reshaped
 * (price -> priceMinor: changed).
 */
function bulkCaptures(): CaptureData[] {
  const base = Date.parse('2025-06-01T00:00:00Z');
  return Array.from({ length: N }, (_, i) => {
    const sku = i % 10 === 0 ? `sku-${i}` : `SKU-${i}`;
    const description = i % 10 === 1 ? '' : `Item ${i} ${'x'.repeat(400)}`;
    const price = i % 10 === 2 ? 'n/a' : `${(i % 500) + 1}.${String(i % 100).padStart(2, '0')}`;
    return captureOf('bulk.prices', `sku,description,price,currency\n${sku},${description},${price},eur\n`, { at: new Date(base + i * 1000), n: i });
  });
}

async function replayRow(pool: import('pg').Pool, replayId: string) {
  const { rows } = await pool.query('SELECT processed::int, total::int, completed_at, rows::int, upserted::int, unchanged::int, quarantined::int, diff, base_version, dataset_version FROM transformer_replays WHERE replay_id = $1', [replayId]);
  return rows[0] as { processed: number; total: number; completed_at: Date | null; rows: number; upserted: number; unchanged: number; quarantined: number; diff: unknown; base_version: number | null; dataset_version: number } | undefined;
}

describe('backfill through a replay', () => {
  let s: ReturnType<typeof testStore>;
  let ledger: LedgerStandIn;
  let bus: CommandBus;
  let captures: CaptureData[];
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the transformer first (tsc -b services/transformer)`);
    s = testStore(env);
    const relay = startStoreRelay(s.store, env.nats.nc, env.nats.subjects, s.registry);
    env.track({ end: () => relay.stop() });
    ledger = new LedgerStandIn(s.store, env.nats.nc, env.nats.subjects);
    bus = new CommandBus(env.nats.nc, env.nats.subjects);
    env.track({ end: async () => void child?.kill('SIGKILL') });
    captures = bulkCaptures();
  });

  it('builds version 1 from 10,000 replayed captures and promotes it with its actor', async () => {
    const t = env.track(await startTransformer(env, { instance: 'first', env: { ...ACK_WAIT, TRANSFORMER_ROUTES: 'live.rates=exchange-rates@1' } }));
    await ledger.started('bf-v1', 'supplier-prices@1', N);
    await eventually(async () => expect(await replayRow(s.pool, 'bf-v1')).toBeDefined());
    await ledger.publish('bf-v1', captures.map(captureEnvelope));
    // Live traffic during the backfill: its own consumer, so it is not queued behind 10,000 replayed captures.
    const live = captureOf('live.rates', JSON.stringify({ base: 'EUR', date: '2026-03-01', rates: { USD: '1.08' } }), { contentType: 'application/json' });
    await appendCapture(s.store, live);
    await ledger.published('bf-v1', N);
    const row = await eventually(async () => {
      const r = await replayRow(s.pool, 'bf-v1');
      expect(r?.completed_at).toEqual(expect.any(Date));
      return r!;
    }, 60_000);
    const liveDone = await eventually(async () => {
      const e = (await eventsOfType(s.store, 'transformation.completed')).find((x) => (x.data as { captureId: string }).captureId === live.captureId);
      expect(e).toBeDefined();
      return e!.data as { completedAt: string };
    });
    expect(Date.parse(liveDone.completedAt)).toBeLessThan(row.completed_at!.getTime());
    expect(row).toMatchObject({ processed: N, total: N, rows: N, upserted: 8_000, unchanged: 0, quarantined: 2_000, base_version: null });
    const outcome = await bus.send('transformer', 'promote_dataset_version', { dataset: 'supplier-prices', version: 1, reason: 'first load' }, { actor: 'alice' });
    expect(outcome.status).toBe('completed');
    const [promoted] = await eventually(async () => {
      const e = await eventsOfType(s.store, 'dataset.version_promoted');
      expect(e).toHaveLength(1);
      return e;
    });
    expect(promoted!.data).toMatchObject({ dataset: 'supplier-prices', version: 1, actor: 'alice', reason: 'first load' });
    await t.end();
  }, 120_000);

  it('replays them through version 2 beside version 1, surviving a kill -9 of the transformer without duplicate rows, with a correct diff', async () => {
    const port = await freePort();
    child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...env.env(), PORT: String(port), LOG_LEVEL: 'warn', TRANSFORMER_TRANSFORMS: EXAMPLE_TRANSFORMS, TRANSFORMER_REPLAY_BATCH: '50', TRANSFORMER_REPLAY_CONCURRENCY: '1', ...ACK_WAIT },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 30_000).catch((err: unknown) => {
      throw new Error(`transformer process did not become ready: ${String(err)}\n${stderr}`);
    });
    await ledger.started('bf-v2', 'supplier-prices@2', N);
    const publishing = ledger.publish('bf-v2', captures.map(captureEnvelope));
    await eventually(async () => expect((await replayRow(s.pool, 'bf-v2'))?.processed ?? 0).toBeGreaterThanOrEqual(1_000), 60_000, 10);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const atKill = (await replayRow(s.pool, 'bf-v2'))!;
    expect(atKill.processed).toBeLessThan(N);
    await publishing;
    await ledger.published('bf-v2', N);

    const t = env.track(await startTransformer(env, { instance: 'after-kill', env: ACK_WAIT }));
    const row = await eventually(async () => {
      const r = await replayRow(s.pool, 'bf-v2');
      expect(r?.completed_at).toEqual(expect.any(Date));
      return r!;
    }, 90_000);
    expect(row).toMatchObject({ processed: N, total: N, rows: N, upserted: 8_000, unchanged: 0, quarantined: 2_000, base_version: 1, dataset_version: 2 });
    const counts = await s.pool.query("SELECT version, count(*)::int AS n FROM transformer_rows WHERE dataset = 'supplier-prices' GROUP BY version ORDER BY version");
    expect(counts.rows).toEqual([
      { version: 1, n: 8_000 },
      { version: 2, n: 8_000 },
    ]);
    const versions = await s.pool.query("SELECT version, rows::int, quarantined::int, captures::int FROM transformer_dataset_versions WHERE dataset = 'supplier-prices' ORDER BY version");
    expect(versions.rows).toEqual([
      { version: 1, rows: 8_000, quarantined: 2_000, captures: N },
      { version: 2, rows: 8_000, quarantined: 2_000, captures: N },
    ]);
    const expected = { added: 1_000, changed: 7_000, removed: 1_000, unchanged: 0, quarantined: { new: 2_000, base: 2_000 } };
    expect(row.diff).toEqual(expected);
    expect(await new ReplayRepository().diff(s.pool, 'supplier-prices', 2, 1)).toEqual(expected);
    // The replay wrote beside the current version, never over it.
    const current = await s.pool.query("SELECT current_version FROM transformer_datasets WHERE dataset = 'supplier-prices'");
    expect(current.rows[0].current_version).toBe(1);
    const completed = await eventually(async () => {
      const e = (await eventsOfType(s.store, 'transformation.replay_completed')).filter((x) => (x.data as { replayId: string }).replayId === 'bf-v2');
      expect(e).toHaveLength(1);
      return e[0]!.data;
    });
    expect(completed).toMatchObject({ transform: 'supplier-prices@2', dataset: 'supplier-prices', datasetVersion: 2, dryRun: false, captures: N, counts: { rows: N, upserted: 8_000, unchanged: 0, quarantined: 2_000 } });
    await t.end();
  }, 180_000);

  it('counts a dry run without writing, waits for replay.started when its captures arrive first, and passes over replays for other services', async () => {
    const t = env.track(await startTransformer(env, { instance: 'dry', env: ACK_WAIT }));
    // A rebuild for another service shares the REPLAY stream: acked untouched, never blocking ours.
    await s.store.append('replay-rb-sched', [{ type: 'replay.started', data: { replayId: 'rb-sched', kind: 'rebuild', selection: { types: ['collection.raw_captured'] }, consumer: 'scheduler', dryRun: false, total: 5, upTo: { transactionId: '1', position: '1' }, startedAt: new Date().toISOString() }, metadata: { correlationId: 'rb' } }], { expected: 'no_stream' });
    await ledger.publish('rb-sched', captures.slice(0, 5).map(captureEnvelope));
    const fresh = Array.from({ length: 300 }, (_, i) => captureOf('bulk.prices', `sku,description,price,currency\nDRY-${i},d,1.00,EUR\n`, { n: 100_000 + i }));
    const again = captures.slice(0, 100); // already in version 2: unchanged
    const envelopes = [...fresh, ...again].map(captureEnvelope);
    await ledger.publish('bf-dry', envelopes);
    await new Promise((r) => setTimeout(r, 300));
    await ledger.started('bf-dry', 'supplier-prices@2', envelopes.length, true);
    await ledger.published('bf-dry', envelopes.length);
    const row = await eventually(async () => {
      const r = await replayRow(s.pool, 'bf-dry');
      expect(r).toMatchObject({ processed: 400 });
      expect(r?.completed_at).toEqual(expect.any(Date));
      return r!;
    }, 60_000);
    expect(row).toMatchObject({ processed: 400, rows: 400, upserted: 300, quarantined: 20 });
    expect(row.unchanged).toBe(80);
    const { rows } = await s.pool.query("SELECT count(*)::int AS n FROM transformer_rows WHERE key LIKE 'DRY-%'");
    expect(rows[0].n).toBe(0);
    const done = await eventually(async () => {
      const e = (await eventsOfType(s.store, 'transformation.replay_completed')).filter((x) => (x.data as { replayId: string }).replayId === 'bf-dry');
      expect(e).toHaveLength(1);
      return e[0]!.data;
    });
    expect(done).toMatchObject({ dryRun: true, captures: 400 });
    await eventually(async () => {
      const info = await (await jetstreamManager(env.nats.nc)).consumers.info(env.nats.subjects.stream('REPLAY'), 'transformer-replay');
      expect(info.num_pending + info.num_ack_pending).toBe(0);
    });
    expect((await s.pool.query("SELECT count(*)::int AS n FROM transformer_replays WHERE replay_id = 'rb-sched'")).rows[0].n).toBe(0);
    await t.end();
  }, 120_000);
});
