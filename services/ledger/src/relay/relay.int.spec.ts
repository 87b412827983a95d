import type { Pool, PoolClient } from 'pg';
import { allEvents, EventRegistry, Headers, uuidv7 } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { declareTopology, provisionStreams } from '@steward/messaging';
import { Logger, Metrics } from '@steward/observability';
import { eventually, useTestEnvironment } from '@steward/testing';
import { RelayService } from './relay.service';

const logger = new Logger({ service: 'ledger-test', level: 'error' });

interface Published {
  id: string;
  tx: bigint;
  pos: bigint;
}

describe('relay', () => {
  const env = useTestEnvironment({ label: 'relay', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 24 }));
    store = new EventStore(pool);
    await provisionStreams(env.nats.jsm, declareTopology(env.nats.subjects), logger);
  });

  function relay(name = 'relay', pollMs = 50, registry?: EventRegistry): RelayService {
    return new RelayService(
      {
        databaseUrl: env.db.url,
        pool,
        nc: env.nats.nc,
        jsm: env.nats.jsm,
        subjects: env.nats.subjects,
        registry,
        logger,
        metrics: new Metrics('ledger'),
      },
      { name, batchSize: 25, pollMs, lockRetryMs: 50 },
    );
  }

  async function publishedMessages(): Promise<Published[]> {
    const stream = env.nats.subjects.stream('EVENTS');
    const info = await env.nats.jsm.streams.info(stream);
    const out: Published[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await env.nats.jsm.streams.getMessage(stream, { seq });
      out.push({
        id: m!.header!.get(Headers.MsgId),
        tx: BigInt(m!.json<{ transactionid: string }>().transactionid),
        pos: BigInt(m!.json<{ globalposition: string }>().globalposition),
      });
    }
    return out;
  }

  async function inTransaction(fn: (c: PoolClient) => Promise<void>): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK');
      throw err;
    } finally {
      c.release();
    }
  }

  it('publishes every event exactly once in commit-safe order while 16 writers commit out of order, where a position-only cursor loses events', async () => {
    const r = relay();
    r.start();

    // The deliberately naive reader: a cursor on global_position alone.
    const naiveSeen = new Set<string>();
    let naiveLast = 0n;
    let naiveRunning = true;
    const naive = (async () => {
      while (naiveRunning) {
        const { rows } = await pool.query<{ event_id: string; global_position: string }>(
          'SELECT event_id, global_position FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 500',
          [naiveLast.toString()],
        );
        for (const row of rows) {
          naiveSeen.add(row.event_id);
          naiveLast = BigInt(row.global_position);
        }
        await new Promise((res) => setTimeout(res, 5));
      }
    })();

    const appended: string[] = [];
    const writers = Array.from({ length: 16 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 12; i++) {
          const stream = `relay-test-${w}-${i}`;
          const ids = [uuidv7(), uuidv7()];
          await inTransaction(async (c) => {
            await store.append(stream, ids.map((id) => ({ id, type: 'test.happened', data: { w, i } })), { expected: 'no_stream', tx: c });
            appended.push(...ids);
            // Every fourth writer holds its transaction open so later ones commit first.
            if (w % 4 === 0) await c.query('SELECT pg_sleep($1)', [0.05 + (i % 3) * 0.1]);
          });
        }
      })(),
    );

    // One late commit that the naive reader is guaranteed to miss: its position
    // is taken first, and the naive reader has moved past it before it commits.
    const lateId = uuidv7();
    const late = inTransaction(async (c) => {
      await store.append('relay-test-late', [{ id: lateId, type: 'test.happened', data: {} }], { expected: 'no_stream', tx: c });
      const { rows } = await c.query<{ p: string }>('SELECT global_position AS p FROM events WHERE event_id = $1', [lateId]);
      const latePosition = BigInt(rows[0]!.p);
      await eventually(() => expect(naiveLast > latePosition).toBe(true), 20_000, 10);
    });

    await Promise.all([...writers, late]);
    appended.push(lateId);

    await eventually(async () => expect((await publishedMessages()).length).toBe(appended.length), 30_000, 100);
    naiveRunning = false;
    await naive;
    await r.stop();

    const published = await publishedMessages();
    expect(new Set(published.map((p) => p.id))).toEqual(new Set(appended));
    expect(published).toHaveLength(appended.length);
    for (let i = 1; i < published.length; i++) {
      const [a, b] = [published[i - 1]!, published[i]!];
      expect(a.tx < b.tx || (a.tx === b.tx && a.pos < b.pos)).toBe(true);
    }
    // The naive reader lost the late commit (and possibly more): the bug this design prevents.
    expect(naiveSeen.has(lateId)).toBe(false);
    expect(naiveSeen.size).toBeLessThan(appended.length);
  });

  it('keeps a second replica on standby and lets it take over when the leader stops', async () => {
    const leader = relay('ha');
    const standby = relay('ha');
    leader.start();
    await eventually(() => expect(leader.status).toBe('active'));
    standby.start();
    await new Promise((res) => setTimeout(res, 200));
    expect(standby.status).toBe('standby');

    const before = (await publishedMessages()).length;
    await store.append('relay-ha-1', [{ type: 'test.happened', data: { n: 1 } }], { expected: 'no_stream' });
    await eventually(async () => expect((await publishedMessages()).length).toBe(before + 1));

    await leader.stop();
    await eventually(() => expect(standby.status).toBe('active'));
    await store.append('relay-ha-2', [{ type: 'test.happened', data: { n: 2 } }], { expected: 'no_stream' });
    await eventually(async () => expect((await publishedMessages()).length).toBe(before + 2));
    await standby.stop();
  });

  it('is woken by NOTIFY when idle instead of waiting for its poll interval', async () => {
    const r = relay('notify', 60_000);
    r.start();
    await eventually(() => expect(r.status).toBe('active'));
    const before = (await publishedMessages()).length;
    await new Promise((res) => setTimeout(res, 300)); // let it go idle with the wake-up gate armed
    const started = Date.now();
    await store.append('relay-notify-1', [{ type: 'test.happened', data: {} }], { expected: 'no_stream' });
    await eventually(async () => expect((await publishedMessages()).length).toBe(before + 1), 10_000, 20);
    expect(Date.now() - started).toBeLessThan(5_000);
    await r.stop();
  });

  it('publishes routed types on their route subject so one consumer needs one filter', async () => {
    const r = relay('routed', 50, new EventRegistry(allEvents));
    r.start();
    const timerId = `t-${uuidv7()}`;
    await store.append(`run-${timerId}`, [
      {
        type: 'timer.fired',
        data: { timerId, owner: 'executor', dueAt: new Date().toISOString(), firedAt: new Date().toISOString(), payload: {}, correlation: { correlationId: timerId } },
      },
    ], { expected: 'no_stream' });
    const stream = env.nats.subjects.stream('EVENTS');
    await eventually(async () => {
      const m = await env.nats.jsm.streams.getMessage(stream, { last_by_subj: env.nats.subjects.event('timer.fired', 'executor') });
      expect(m?.json<{ data: { timerId: string } }>().data.timerId).toBe(timerId);
    });
    await r.stop();
  });
});
