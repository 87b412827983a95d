import { jetstream } from '@nats-io/jetstream';
import { toEnvelope } from '@steward/contracts';
import { BlobStore, migrate } from '@steward/event-store';
import { CommandBus } from '@steward/messaging';
import { envelopeHeaders } from '@steward/messaging';
import { encodeJsonForTest } from '../testing/encode.fixture';
import { eventually, useTestEnvironment, startStoreRelay } from '@steward/testing';
import { appendCapture, captureOf, eventsOfType, startTransformer, testStore } from '../testing/transformer.harness';

const env = useTestEnvironment({ setupDatabase: (url) => migrate(url).then(() => undefined) });

const CSV_HEADER = 'sku,description,price,currency';

describe('live transformation of raw captures', () => {
  let t: Awaited<ReturnType<typeof startTransformer>>;
  let s: ReturnType<typeof testStore>;
  let relay: { stop(): Promise<void> };

  beforeAll(async () => {
    s = testStore(env);
    t = await startTransformer(env, { env: { TRANSFORMER_ROUTES: 'acme.prices=supplier-prices@1,fx.rates=exchange-rates@1,shop.listing=product-listing@1' } });
    env.track(t);
    relay = startStoreRelay(s.store, env.nats.nc, env.nats.subjects, s.registry);
    env.track({ end: () => relay.stop() });
  });

  const completedFor = async (captureId: string) => {
    const e = (await eventsOfType(s.store, 'transformation.completed')).filter((x) => (x.data as { captureId: string }).captureId === captureId);
    return e.map((x) => x.data as { counts: Record<string, number>; dataset: string; datasetVersion: number; transform: string });
  };

  it('upserts CSV rows into the dataset with the capture and transform that produced them, quarantining bad rows without halting', async () => {
    const capture = captureOf('acme.prices', [CSV_HEADER, 'AB-100,Bolt,1.25,EUR', 'AB-200,Nut,not-a-price,EUR', 'AB-300,Washer,0.05,EUR', 'bad,Screw,1.00,EUR'].join('\n'));
    await appendCapture(s.store, capture);
    const [done] = await eventually(async () => {
      const e = await completedFor(capture.captureId);
      expect(e).toHaveLength(1);
      return e;
    });
    expect(done).toMatchObject({ transform: 'supplier-prices@1', dataset: 'supplier-prices', datasetVersion: 1, counts: { rows: 4, upserted: 2, unchanged: 0, quarantined: 2 } });
    const { rows } = await s.pool.query('SELECT key, data, capture_id, transform FROM transformer_rows WHERE dataset = $1 AND version = 1 ORDER BY key', ['supplier-prices']);
    expect(rows).toEqual([
      { key: 'AB-100', data: { sku: 'AB-100', description: 'Bolt', price: '1.25', currency: 'EUR' }, capture_id: capture.captureId, transform: 'supplier-prices@1' },
      { key: 'AB-300', data: { sku: 'AB-300', description: 'Washer', price: '0.05', currency: 'EUR' }, capture_id: capture.captureId, transform: 'supplier-prices@1' },
    ]);
    const q = await s.pool.query('SELECT row_index, reason, capture_id FROM transformer_quarantine WHERE dataset = $1 ORDER BY row_index', ['supplier-prices']);
    expect(q.rows).toEqual([
      { row_index: 1, reason: 'price: expected a decimal price such as 12.50', capture_id: capture.captureId },
      { row_index: 3, reason: 'sku: expected an upper-case SKU', capture_id: capture.captureId },
    ]);
    const ds = await s.pool.query('SELECT current_version, last_completed_at FROM transformer_datasets WHERE dataset = $1', ['supplier-prices']);
    expect(ds.rows[0]).toMatchObject({ current_version: 1, last_completed_at: expect.any(Date) });
  });

  it('counts rows whose content did not move as unchanged and writes nothing for them', async () => {
    const body = [CSV_HEADER, 'CD-1,One,1.00,EUR', 'CD-2,Two,2.00,EUR'].join('\n');
    const first = captureOf('acme.prices', body, { at: new Date('2026-01-02T00:00:00Z') });
    await appendCapture(s.store, first);
    await eventually(async () => expect(await completedFor(first.captureId)).toHaveLength(1));
    const second = captureOf('acme.prices', [CSV_HEADER, 'CD-1,One,1.00,EUR', 'CD-2,Two,2.50,EUR'].join('\n'), { at: new Date('2026-01-03T00:00:00Z') });
    await appendCapture(s.store, second);
    const [done] = await eventually(async () => {
      const e = await completedFor(second.captureId);
      expect(e).toHaveLength(1);
      return e;
    });
    expect(done!.counts).toEqual({ rows: 2, upserted: 1, unchanged: 1, quarantined: 0 });
    const { rows } = await s.pool.query("SELECT key, capture_id FROM transformer_rows WHERE dataset = 'supplier-prices' AND key LIKE 'CD-%' ORDER BY key");
    expect(rows).toEqual([
      { key: 'CD-1', capture_id: first.captureId },
      { key: 'CD-2', capture_id: second.captureId },
    ]);
    // An older capture arriving late does not overwrite the newer row.
    const late = captureOf('acme.prices', [CSV_HEADER, 'CD-2,Two,1.99,EUR'].join('\n'), { at: new Date('2026-01-01T12:00:00Z') });
    await appendCapture(s.store, late);
    const [l] = await eventually(async () => {
      const e = await completedFor(late.captureId);
      expect(e).toHaveLength(1);
      return e;
    });
    expect(l!.counts).toEqual({ rows: 1, upserted: 0, unchanged: 1, quarantined: 0 });
    const cd2 = await s.pool.query("SELECT data->>'price' AS price FROM transformer_rows WHERE dataset = 'supplier-prices' AND key = 'CD-2'");
    expect(cd2.rows[0].price).toBe('2.50');
  });

  it('has no second effect when a capture is delivered again', async () => {
    const capture = captureOf('fx.rates', JSON.stringify({ base: 'EUR', date: '2026-01-02', rates: { USD: '1.08', GBP: '0.86' } }), { contentType: 'application/json' });
    const stored = await appendCapture(s.store, capture);
    await eventually(async () => expect(await completedFor(capture.captureId)).toHaveLength(1));
    // The same envelope again under another Nats-Msg-Id: past the stream's dedupe, as a redelivery after a crash would be.
    const js = jetstream(env.nats.nc);
    await js.publish(env.nats.subjects.event('collection.raw_captured'), encodeJsonForTest(toEnvelope(stored)), { msgID: `redelivery-${stored.eventId}`, headers: envelopeHeaders(toEnvelope(stored)) });
    const marker = captureOf('fx.rates', JSON.stringify({ base: 'USD', date: '2026-01-02', rates: { EUR: '0.93' } }), { contentType: 'application/json' });
    await appendCapture(s.store, marker);
    await eventually(async () => expect(await completedFor(marker.captureId)).toHaveLength(1));
    expect(await completedFor(capture.captureId)).toHaveLength(1);
    const { rows } = await s.pool.query("SELECT count(*)::int AS n FROM transformer_rows WHERE dataset = 'exchange-rates'");
    expect(rows[0].n).toBe(3);
    const v = await s.pool.query("SELECT rows, captures FROM transformer_dataset_versions WHERE dataset = 'exchange-rates' AND version = 1");
    expect(v.rows[0]).toEqual({ rows: '3', captures: '2' });
  });

  it('parses HTML captures and records an unparseable body as transformation.failed', async () => {
    const html = captureOf('shop.listing', '<table id="products"><tbody><tr data-sku="P-1"><td>Bolt</td><td>1.00</td><td>yes</td></tr></tbody></table>', { contentType: 'text/html' });
    await appendCapture(s.store, html);
    await eventually(async () => expect((await completedFor(html.captureId))[0]?.counts).toEqual({ rows: 1, upserted: 1, unchanged: 0, quarantined: 0 }));
    const broken = captureOf('fx.rates', '{"base": "EUR", ', { contentType: 'application/json' });
    await appendCapture(s.store, broken);
    const failed = await eventually(async () => {
      const e = (await eventsOfType(s.store, 'transformation.failed')).filter((x) => (x.data as { captureId: string }).captureId === broken.captureId);
      expect(e).toHaveLength(1);
      return e[0]!.data;
    });
    expect(failed).toMatchObject({ transform: 'exchange-rates@1', error: { code: 'unparseable', retryable: false } });
  });

  it('reads a body kept as a content-addressed blob', async () => {
    const csv = [CSV_HEADER, ...Array.from({ length: 50 }, (_, i) => `BL-${i},Blob row ${i},${i + 1}.00,EUR`)].join('\n');
    const { sha256 } = await new BlobStore(s.pool).put(Buffer.from(csv));
    const capture = { ...captureOf('acme.prices', csv, { at: new Date('2026-01-05T00:00:00Z') }), body: { storage: 'blob' as const, sha256 } };
    await appendCapture(s.store, capture);
    await eventually(async () => expect((await completedFor(capture.captureId))[0]?.counts).toEqual({ rows: 50, upserted: 50, unchanged: 0, quarantined: 0 }));
    const missing = { ...captureOf('acme.prices', 'x'), body: { storage: 'blob' as const, sha256: 'f'.repeat(64) } };
    await appendCapture(s.store, missing);
    const failed = await eventually(async () => {
      const e = (await eventsOfType(s.store, 'transformation.failed')).filter((x) => (x.data as { captureId: string }).captureId === missing.captureId);
      expect(e).toHaveLength(1);
      return e[0]!.data;
    });
    expect(failed).toMatchObject({ error: { code: 'body_missing', retryable: false } });
  });

  it('promotes a dataset version with its actor, and refuses unknown datasets and versions', async () => {
    const bus = new CommandBus(env.nats.nc, env.nats.subjects);
    const unknown = await bus.send('transformer', 'promote_dataset_version', { dataset: 'nope', version: 1 }, { actor: 'bob' });
    expect(unknown).toMatchObject({ status: 'rejected', code: 'not_found', reason: 'dataset nope not found' });
    const noVersion = await bus.send('transformer', 'promote_dataset_version', { dataset: 'supplier-prices', version: 7 }, { actor: 'bob' });
    expect(noVersion).toMatchObject({ status: 'rejected', code: 'not_found', reason: 'dataset version supplier-prices@7 not found' });
    const bad = await bus.send('transformer', 'promote_dataset_version', { dataset: 'supplier-prices', version: 0 }, { actor: 'bob' });
    expect(bad).toMatchObject({ status: 'rejected', code: 'validation' });
    expect((bad as { reason: string }).reason).toContain('payload.version');
    const same = await bus.send('transformer', 'promote_dataset_version', { dataset: 'supplier-prices', version: 1 }, { actor: 'bob' });
    expect(same.status).toBe('completed');
    expect((same as { events: Array<{ type: string }> }).events[0]!.type).toBe('command.accepted');
  });

  it('leaves captures of sources without a route alone', async () => {
    const other = await appendCapture(s.store, captureOf('unrouted.source', 'a,b\n1,2'));
    const marker = captureOf('acme.prices', [CSV_HEADER, 'ZZ-1,z,1.00,EUR'].join('\n'));
    await appendCapture(s.store, marker);
    await eventually(async () => expect(await completedFor(marker.captureId)).toHaveLength(1));
    await eventually(async () => {
      const { rows } = await s.pool.query("SELECT count(*)::int AS n FROM inbox WHERE consumer = 'transformer' AND message_id = $1", [other.eventId]);
      expect(rows[0].n).toBe(1);
    });
    expect(await completedFor((other.data as { captureId: string }).captureId)).toHaveLength(0);
  });
});
