import { jetstream } from '@nats-io/jetstream';
import { toEnvelope } from '@steward/contracts';
import { migrate, START } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { startCostTracker, TestClock, type CostHarness } from '../testing/cost.harness';
import { usage } from '../testing/usage.fixture';

const PRICES = `
prices:
  - match: cpu-seconds
    usd: 0.0001
    from: 2026-12-01
  - match: cpu-seconds
    usd: 0.00015
    from: 2026-12-15T00:00:00+00:00
  - match: "api:openai:gpt-*:tokens"
    usd: 0.0000015
    from: 2026-12-01
  - match: collection-*
    usd: 0.000001
    from: 2026-12-01
  - match: transform-rows
    usd: 0.00001
    from: 2026-12-01
  - match: events-stored
    usd: 0.0000001
    from: 2026-12-01
`;

interface Row {
  line: number;
  resource: string;
  quantity: string;
  rate_micros: string | null;
  rate_source: string;
  amount_micros: string;
  workflow_id: string;
  workflow_version: number;
  owner: string;
  queue: string;
  service: string;
  environment: string;
}

describe('pricing usage', () => {
  const env = useTestEnvironment({ label: 'costprices', setupDatabase: (url) => migrate(url) });
  const clock = new TestClock(new Date('2026-12-10T12:00:00Z'));
  let h: CostHarness;

  beforeAll(async () => {
    h = await startCostTracker(env, clock, { COST_ENVIRONMENT: 'prod' });
    env.track({ end: () => h.close() });
    expect((await h.send('apply_prices', { yaml: PRICES, file: 'prices.yaml' })).status).toBe('completed');
    await h.processed(await usage.workflow(h, 'nightly', 'data-team'));
    await h.processed(await usage.run(h, 'r1', 'nightly'), await usage.queued(h, 'r1', 'nightly', 'extract', 'etl'));
  }, 60_000);

  /** The records of an event; the stored-event line (900) only when asked for. */
  const records = async (eventId: string, withVolume = false) =>
    (
      await h.pool.query<Row>(
        'SELECT line, resource, quantity::text, rate_micros::text, rate_source, amount_micros::text, workflow_id, workflow_version, owner, queue, service, environment FROM cost_records WHERE source_event_id = $1 AND (line < 900 OR $2) ORDER BY line',
        [eventId, withVolume],
      )
    ).rows;

  it('costs usage at the price in force when it happened, across a mid-month price change', async () => {
    const before = await usage.succeeded(h, 'r1', 'nightly', 'extract', '2026-12-14T23:59:59Z', { cpuMs: 12_345 });
    const after = await usage.succeeded(h, 'r1', 'nightly', 'extract', '2026-12-15T00:00:01Z', { cpuMs: 12_345 });
    await h.processed(before, after);
    // 12.345 s x 100 micros = 1234.5 -> 1234 (half to even); x 150 micros = 1851.75 -> 1852
    expect(await records(before)).toEqual([expect.objectContaining({ resource: 'cpu-seconds', quantity: '12.345', rate_micros: '100', rate_source: 'price', amount_micros: '1234' })]);
    expect(await records(after)).toEqual([expect.objectContaining({ rate_micros: '150', amount_micros: '1852' })]);
  });

  it('attributes a record to workflow version, owner, step queue, service and environment', async () => {
    const id = await usage.succeeded(h, 'r1', 'nightly', 'extract', '2026-12-10T12:00:00Z', { cpuMs: 1000, wallMs: 2000, maxRssKb: 1024 });
    await h.processed(id);
    const rows = await records(id);
    expect(rows.map((r) => r.resource)).toEqual(['cpu-seconds', 'memory-gb-seconds', 'wall-seconds']);
    expect(rows[0]).toMatchObject({ workflow_id: 'nightly', workflow_version: 1, owner: 'data-team', queue: 'etl', service: 'worker', environment: 'prod' });
    expect(rows[1]).toMatchObject({ quantity: '0.001953125', rate_source: 'unpriced', amount_micros: '0' });
  });

  it('lets a cost the handler reported override the price', async () => {
    const id = await usage.succeeded(h, 'r1', 'nightly', 'extract', '2026-12-10T12:00:00Z', {
      reported: [
        { provider: 'openai', model: 'gpt-4o', units: 1001, unit: 'tokens' },
        { provider: 'openai', model: 'gpt-4o', units: 10, unit: 'tokens', costUsd: 0.25 },
      ],
    });
    await h.processed(id);
    expect((await records(id)).map((r) => [r.resource, r.rate_source, r.amount_micros])).toEqual([
      ['api:openai:gpt-4o:tokens', 'price', '1502'], // 1001 x 1.5 = 1501.5 -> 1502 (half to even)
      ['api:openai:gpt-4o:tokens', 'reported', '250000'],
    ]);
  });

  it('counts a usage event delivered twice once', async () => {
    const id = await usage.succeeded(h, 'r1', 'nightly', 'extract', '2026-12-11T00:00:00Z', { cpuMs: 50_000 });
    await h.processed(id);
    const spent = async () => (await h.pool.query<{ s: string }>(`SELECT spent_micros::text AS s FROM cost_spend WHERE scope = 'workflow' AND id = 'nightly'`)).rows[0]!.s;
    const total = await spent();
    const stored = (await h.store.readAll(START, { limit: 10_000 })).events.find((e) => e.eventId === id)!;
    const body = JSON.stringify(toEnvelope(stored));
    const js = jetstream(env.nats.nc);
    const subject = env.nats.subjects.event('step.succeeded');
    // Past JetStream's duplicate window the relay (or a replay) may publish it again: the inbox stops it.
    await js.publish(subject, body, { msgID: `${id}-again` });
    // With the inbox entry gone (a rebuilt inbox), the record key (source event id + line) still stops it.
    await h.pool.query(`DELETE FROM inbox WHERE consumer = 'cost-tracker' AND message_id = $1`, [id]);
    await js.publish(subject, body, { msgID: `${id}-third` });
    await h.processed(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(await spent()).toBe(total);
    expect(await records(id)).toHaveLength(1);
  });

  it('costs a capture by request and bytes in, and a transformation by rows, attributed to their run', async () => {
    const capture = await h.emit('collection.raw_captured', {
      captureId: '01900000-0000-7000-8000-0000000000c1',
      source: 'nightly.fetch',
      workflowId: 'nightly',
      runId: 'r1',
      stepId: 'fetch',
      attempt: 1,
      fingerprint: 'b'.repeat(64),
      request: { kind: 'http', target: 'https://portal.example/prices.csv', method: 'GET' },
      status: 200,
      contentType: 'text/csv',
      size: 2_500_000,
      sha256: 'c'.repeat(64),
      headers: {},
      durationMs: 420,
      body: { storage: 'blob', sha256: 'c'.repeat(64) },
      capturedAt: '2026-12-10T12:00:00Z',
    }, {}, 'collector');
    const transformed = await h.emit('transformation.completed', {
      transform: 'nightly-prices@2',
      dataset: 'prices',
      datasetVersion: 2,
      captureId: '01900000-0000-7000-8000-0000000000c1',
      source: 'nightly.fetch',
      workflowId: 'nightly',
      runId: 'r1',
      stepId: 'normalize',
      counts: { rows: 1234, upserted: 1200, unchanged: 30, quarantined: 4 },
      durationMs: 95,
      completedAt: '2026-12-10T12:00:01Z',
    }, {}, 'transformer');
    await h.processed(capture, transformed);
    expect((await records(capture, true)).map((r) => [r.line, r.resource, r.quantity, r.amount_micros, r.service, r.owner])).toEqual([
      [10, 'collection-requests', '1', '1', 'collector', 'data-team'],
      [11, 'collection-bytes-in', '2500000', '2500000', 'collector', 'data-team'],
      [900, 'events-stored', '1', '0', 'collector', 'data-team'], // 0.1 micro rounds half to even to 0
    ]);
    expect((await records(transformed, true)).map((r) => [r.resource, r.quantity, r.amount_micros, r.service, r.workflow_version])).toEqual([
      ['transform-rows', '1234', '12340', 'transformer', 1],
      ['events-stored', '1', '0', 'transformer', 1],
    ]);
    const { rows } = await h.pool.query(`SELECT source, sum(events)::int AS events FROM cost_event_volume GROUP BY source ORDER BY source`);
    expect(rows).toEqual(expect.arrayContaining([{ source: 'collector', events: 1 }, { source: 'transformer', events: 1 }]));
  });

  it('rejects a prices file naming the path at fault', async () => {
    const outcome = await h.send('apply_prices', { yaml: 'prices:\n  - match: cpu-seconds\n    usd: cheap\n    from: 2026-12-01\n' });
    expect(outcome).toMatchObject({ status: 'rejected', code: 'validation' });
    expect(outcome.status === 'rejected' && outcome.issues.map((i) => i.path)).toEqual(['prices[0].usd']);
  });

  it('keeps applied prices listable with their start', async () => {
    await eventually(async () => {
      const { rows } = await h.pool.query('SELECT match, rate_micros::text AS rate FROM cost_prices ORDER BY match, from_at');
      expect(rows).toEqual([
        { match: 'api:openai:gpt-*:tokens', rate: '1.5' },
        { match: 'collection-*', rate: '1' },
        { match: 'cpu-seconds', rate: '100' },
        { match: 'cpu-seconds', rate: '150' },
        { match: 'events-stored', rate: '0.1' },
        { match: 'transform-rows', rate: '10' },
      ]);
    });
  });
});
