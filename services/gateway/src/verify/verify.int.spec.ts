import type { Pool } from 'pg';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Headers, toEnvelope, uuidv7, type StoredEvent } from '@steward/contracts';
import { CheckpointStore, createPool, EventStore, migrate } from '@steward/event-store';
import { envelopeHeaders, publishEvent } from '@steward/messaging';
import { useTestEnvironment } from '@steward/testing';
import { startGateway, untilCommittedReadable, type GatewayHarness } from '../testing/gateway.fixture';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  [k: string]: any;
}

describe('verify', () => {
  const env = useTestEnvironment({ label: 'gwverify', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;
  let store: EventStore;
  let js: JetStreamClient;
  let stream: string;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    store = new EventStore(pool);
    js = jetstream(env.nats.nc);
    gw = await startGateway(env, { VERIFY_MAX_RELAY_LAG_MS: '1000' });
    stream = env.nats.subjects.stream('EVENTS');
  });

  /** What the ledger relay does: publish in commit-safe order with the transaction header, then save the checkpoint. */
  async function relay(): Promise<void> {
    await untilCommittedReadable(pool);
    const checkpoints = new CheckpointStore(pool);
    let cursor = await checkpoints.load('relay');
    for (;;) {
      const page = await store.readAll(cursor, { limit: 50 });
      if (page.events.length === 0) return;
      for (const e of page.events) {
        await publishEvent(js, env.nats.subjects, toEnvelope(e), undefined, { fromStore: true });
      }
      cursor = page.cursor;
      await checkpoints.save('relay', cursor);
    }
  }

  async function appendHistory(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 5) {
      const batch = Array.from({ length: 5 }, (_, j) => ({ id: uuidv7(), type: 'test.happened', data: { i: i + j }, metadata: { source: 'executor' } }));
      await store.append(`verify-${uuidv7()}`, batch, { expected: 'no_stream' });
      ids.push(...batch.map((e) => e.id));
    }
    return ids;
  }

  async function verify(query: Record<string, string> = {}): Promise<{ ok: boolean; checks: Record<string, Check> }> {
    const res = await gw.request('GET', '/api/v1/verify', { query });
    expect(res.status).toBe(200);
    return { ok: res.body.ok, checks: Object.fromEntries(res.body.checks.map((c: Check) => [c.name, c])) };
  }

  async function seqOf(eventId: string): Promise<number> {
    const info = await env.nats.jsm.streams.info(stream);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await env.nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m?.header?.get(Headers.MsgId) === eventId) return seq;
    }
    throw new Error(`event ${eventId} is not in the stream`);
  }

  async function republish(e: StoredEvent): Promise<void> {
    const envelope = toEnvelope(e);
    const headers = envelopeHeaders(envelope);
    await js.publish(env.nats.subjects.event(envelope.type), JSON.stringify(envelope), { msgID: uuidv7(), headers });
  }

  let history: string[] = [];

  it('reports ok when every event was published once, in order, and the projections match', async () => {
    history = await appendHistory(120);
    await relay();
    const report = await verify();
    expect(report.checks['store-vs-jetstream']).toMatchObject({ ok: true, missing: { count: 0 }, duplicated: { count: 0 }, outOfOrder: { count: 0 }, unknown: { count: 0 } });
    // 120 events + the bootstrap's two.
    expect(report.checks['store-vs-jetstream']!.matched).toBe(122);
    expect(report.checks['relay-lag']).toMatchObject({ ok: true, lagEvents: 0 });
    expect(report.checks['projection:gateway_tokens']).toMatchObject({ ok: true, detail: '1 tokens match a rebuild from 1 events' });
    expect(report.ok).toBe(true);
    expect((await verify({ since: '1h' })).ok).toBe(true);
  });

  it('fails the projection check when the token table drifts from its events', async () => {
    const { id } = await gw.tokenFor('viewer', 'drifting');
    await relay();
    await pool.query(`UPDATE gateway_tokens SET role = 'admin' WHERE id = $1`, [id]);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.checks['projection:gateway_tokens']).toMatchObject({ ok: false, detail: `1 tokens differ from a rebuild: token ${id}: role differ` });
    await pool.query(`UPDATE gateway_tokens SET role = 'viewer' WHERE id = $1`, [id]);
    expect((await verify()).ok).toBe(true);
  });

  it('fails the relay-lag check while stored events wait too long to be published, without calling them missing', async () => {
    await appendHistory(5);
    await untilCommittedReadable(pool);
    await new Promise((r) => setTimeout(r, 1500));
    const lagging = await verify();
    expect(lagging.checks['relay-lag']).toMatchObject({ ok: false, lagEvents: 5 });
    expect(lagging.checks['relay-lag']!.oldestUnpublishedAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(lagging.checks['store-vs-jetstream']).toMatchObject({ ok: true, unpublished: 5 });
    await relay();
    expect((await verify()).ok).toBe(true);
  });

  it('detects a missing publish, a duplicated publish and a late one out of order', async () => {
    const lost = history[40]!;
    await env.nats.jsm.streams.deleteMessage(stream, await seqOf(lost));
    const missing = await verify();
    expect(missing.ok).toBe(false);
    expect(missing.checks['store-vs-jetstream']).toMatchObject({ ok: false, missing: { count: 1, examples: [expect.objectContaining({ id: lost })] }, duplicated: { count: 0 } });
    expect(missing.checks['store-vs-jetstream']!.detail).toMatch(/^1 missing \(/);

    // The same event published again under another dedupe id, as a buggy second relay would.
    const events = (await store.query({}, { limit: 1000 })).events;
    await republish(events.find((e) => e.eventId === history[5])!);
    const duplicated = await verify();
    expect(duplicated.checks['store-vs-jetstream']).toMatchObject({ missing: { count: 1 }, duplicated: { count: 1, examples: [expect.objectContaining({ id: history[5] })] } });

    // The lost event finally published (under a new dedupe id: the stream would drop the old one within its window).
    await republish(events.find((e) => e.eventId === lost)!);
    const late = (await verify()).checks['store-vs-jetstream']!;
    expect(late).toMatchObject({ ok: false, missing: { count: 0 }, outOfOrder: { count: 1, examples: [expect.objectContaining({ id: lost })] }, duplicated: { count: 1 } });
  });
});
