import { allEvents, EventRegistry } from '@steward/contracts';
import { createPool, EventStore, migrate, unitOfWork } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { CaptureTransformer } from '../captures/capture.transformer';
import { DatasetRepository } from '../datasets/dataset.repository';
import { ensureTransformerSchema } from '../datasets/transformer.migrations';
import { captureOf, EXAMPLE_TRANSFORMS } from '../testing/transformer.harness';
import { loadTransforms } from '../transforms/transform.registry';
import { ReplayRepository } from './replay.repository';
import { ReplayService } from './replay.service';

const env = useTestEnvironment({ setupDatabase: (url) => migrate(url).then(() => undefined) });

describe('replay bookkeeping', () => {
  let pool: Pool;
  let store: EventStore;
  let service: ReplayService;
  const replays = new ReplayRepository();
  const clock = { now: () => new Date('2026-04-01T00:00:00Z') };
  const meta = { correlationId: 'test' };
  const started = (replayId: string, total: number, transform = 'supplier-prices@2') => ({ replayId, kind: 'backfill' as const, selection: { types: ['collection.raw_captured'] }, consumer: 'transformer', transform, dryRun: false, total, upTo: { transactionId: '1', position: '1' }, startedAt: clock.now().toISOString() });
  const published = (replayId: string, total: number) => ({ replayId, published: total, total, durationMs: 1, at: clock.now().toISOString() });

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    await ensureTransformerSchema(pool);
    store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'test' });
    const datasets = new DatasetRepository();
    service = new ReplayService(store, loadTransforms([EXAMPLE_TRANSFORMS]), replays, datasets, new CaptureTransformer(datasets, undefined), clock);
  });

  const completions = async (replayId: string) => (await store.readStream(`transformation-replay-${replayId}`)).map((e) => e.data);

  it('completes when replay.published was handled before replay.started (another replica took it first)', async () => {
    await unitOfWork(pool, (tx) => service.published(tx, published('rp-early', 1), meta));
    await unitOfWork(pool, (tx) => service.started(tx, started('rp-early', 1)));
    const capture = captureOf('any.source', 'sku,description,price,currency\nEA-1,Early,1.00,EUR\n');
    await unitOfWork(pool, async (tx) => service.applyBatch(tx, (await replays.find(tx, ['rp-early'])).get('rp-early')!, [{ messageId: 'rp-early:1', replayId: 'rp-early', capture }], meta));
    expect(await completions('rp-early')).toEqual([expect.objectContaining({ replayId: 'rp-early', captures: 1, counts: { rows: 1, upserted: 1, unchanged: 0, quarantined: 0 } })]);
  });

  it('completes an empty replay on replay.published, and only once', async () => {
    await unitOfWork(pool, (tx) => service.started(tx, started('rp-empty', 0)));
    await unitOfWork(pool, (tx) => service.published(tx, published('rp-empty', 0), meta));
    await unitOfWork(pool, (tx) => service.published(tx, published('rp-empty', 0), meta));
    expect(await completions('rp-empty')).toHaveLength(1);
  });

  it('marks a replay through a transform it does not have, and never completes it', async () => {
    await unitOfWork(pool, (tx) => service.started(tx, started('rp-unknown', 1, 'nope@9')));
    const row = (await replays.find(pool, ['rp-unknown'])).get('rp-unknown')!;
    expect(row.error).toEqual({ code: 'unknown_transform', message: 'no transform nope@9 is loaded (TRANSFORMER_TRANSFORMS)' });
    await unitOfWork(pool, (tx) => service.applyBatch(tx, row, [{ messageId: 'rp-unknown:1', replayId: 'rp-unknown', capture: captureOf('x.y', 'a') }], meta));
    await unitOfWork(pool, (tx) => service.published(tx, published('rp-unknown', 1), meta));
    expect((await replays.find(pool, ['rp-unknown'])).get('rp-unknown')).toMatchObject({ processed: 1, failed: 1, completedAt: null });
    // Recorded as replay.failed where a completion would go, once (the ledger ends the replay on it), never completed.
    const failedOnce = [{ replayId: 'rp-unknown', error: { code: 'unknown_transform', message: 'no transform nope@9 is loaded (TRANSFORMER_TRANSFORMS)' }, at: clock.now().toISOString() }];
    expect(await completions('rp-unknown')).toEqual(failedOnce);
    await unitOfWork(pool, (tx) => service.started(tx, started('rp-unknown', 1, 'nope@9')));
    expect(await completions('rp-unknown')).toEqual(failedOnce);
  });
});
