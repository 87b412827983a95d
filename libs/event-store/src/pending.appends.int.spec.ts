import type { Pool } from 'pg';
import { ConcurrencyError, ValidationError, type StoredEvent } from '@steward/contracts';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, InboxBatcher, createPool, handleCommand, migrate, unitOfWork, type Decider } from './index';

const env = useTestEnvironment({ label: 'pendingappends', setupDatabase: (url) => migrate(url) });

/** A counter stream: Add n appends counter.added unless the total would pass 10. */
const counter: Decider<number, { add: number }> = {
  initialState: () => 0,
  evolve: (total, e) => total + (e.data as { n: number }).n,
  decide: (cmd, total) => (total + cmd.add > 10 ? [] : [{ type: 'counter.added', data: { n: cmd.add } }]),
};

describe('PendingAppends', () => {
  let pool: Pool;
  let store: EventStore;
  let n = 0;
  const stream = (label: string) => `pa-${label}-${++n}`;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 6 }));
    store = new EventStore(pool);
  });

  it('writes the appends of many streams in one statement at flush, with versions, positions and the transaction', async () => {
    const [a, b] = [stream('a'), stream('b')];
    await store.append(b, [{ type: 'x.happened', data: { i: 0 } }], { expected: 'no_stream' });
    const returned: StoredEvent[] = [];
    await unitOfWork(pool, async (tx) => {
      const later = store.pendingAppends();
      returned.push(...later.add(a, [{ type: 'x.happened', data: { i: 1 } }, { type: 'x.happened', data: { i: 2 } }], 'no_stream').events);
      const second = later.add(b, [{ type: 'x.happened', data: { i: 3 } }], 1);
      expect(second.nextExpectedVersion).toBe(2);
      returned.push(...second.events);
      // A second append to a held stream continues from the first.
      returned.push(...later.add(a, [{ type: 'x.happened', data: { i: 4 } }], 2).events);
      expect(later.touches(a)).toBe(true);
      expect(later.size).toBe(4);
      // Nothing written before the flush, not even inside the transaction.
      expect((await tx.query('SELECT 1 FROM events WHERE stream_id = ANY($1)', [[a]])).rowCount).toBe(0);
      await later.flush(tx);
      expect(later.touches(a)).toBe(false);
      await later.flush(tx); // nothing left: no statement, no error
    });
    const stored = [...(await store.readStream(a)), ...(await store.readStream(b))];
    expect(stored.map((e) => [e.streamId, e.streamVersion, (e.data as { i: number }).i])).toEqual([
      [a, 1, 1],
      [a, 2, 2],
      [a, 3, 4],
      [b, 1, 0],
      [b, 2, 3],
    ]);
    // The objects add returned now carry what the table holds.
    for (const e of returned) {
      const row = stored.find((s) => s.eventId === e.eventId)!;
      expect({ position: e.globalPosition, tx: e.transactionId, at: e.occurredAt.getTime(), version: e.streamVersion }).toEqual({
        position: row.globalPosition,
        tx: row.transactionId,
        at: row.occurredAt.getTime(),
        version: row.streamVersion,
      });
    }
    expect(new Set(returned.map((e) => e.transactionId)).size).toBe(1);
  });

  it('fails the flush, and the transaction, when a held stream moved: a ConcurrencyError naming the stream', async () => {
    const [fresh, taken, behind] = [stream('fresh'), stream('taken'), stream('behind')];
    await store.append(taken, [{ type: 'x.happened', data: {} }], { expected: 'no_stream' });
    await store.append(behind, [{ type: 'x.happened', data: {} }, { type: 'x.happened', data: {} }], { expected: 'no_stream' });

    const noStream = unitOfWork(pool, async (tx) => {
      const later = store.pendingAppends();
      later.add(fresh, [{ type: 'x.happened', data: {} }], 'no_stream');
      later.add(taken, [{ type: 'x.happened', data: {} }], 'no_stream');
      await later.flush(tx);
    });
    await expect(noStream).rejects.toThrow(ConcurrencyError);
    await expect(noStream).rejects.toMatchObject({ streamId: taken, expected: 'no_stream', actual: 1 });
    // All or nothing: the fresh stream was not written either.
    expect(await store.readStream(fresh)).toEqual([]);

    const stale = unitOfWork(pool, async (tx) => {
      const later = store.pendingAppends();
      later.add(behind, [{ type: 'x.happened', data: {} }], 1);
      await later.flush(tx);
    });
    await expect(stale).rejects.toThrow(ConcurrencyError);
    expect(await store.readStream(behind)).toHaveLength(2);
  });

  it('refuses at add what append refuses: an invalid stream id, a gap in a held stream', () => {
    const later = store.pendingAppends();
    expect(() => later.add('', [{ type: 'x.happened', data: {} }], 'no_stream')).toThrow(ValidationError);
    const s = stream('gap');
    later.add(s, [{ type: 'x.happened', data: {} }], 'no_stream');
    expect(() => later.add(s, [{ type: 'x.happened', data: {} }], 5)).toThrow(ConcurrencyError);
    expect(later.size).toBe(1);
  });

  it('handleCommand holds the append, and flushes a held stream before deciding on it again', async () => {
    const s = stream('cmd');
    await unitOfWork(pool, async (tx) => {
      const later = store.pendingAppends();
      const first = await handleCommand(store, s, counter, { add: 6 }, { tx, later, expectNew: true });
      expect(first.events.map((e) => e.streamVersion)).toEqual([1]);
      expect(later.touches(s)).toBe(true);
      // Decided on the held 6, not on an empty stream: 6 + 6 passes 10, so nothing.
      const second = await handleCommand(store, s, counter, { add: 6 }, { tx, later, history: [] });
      expect(second.events).toEqual([]);
      const third = await handleCommand(store, s, counter, { add: 4 }, { tx, later });
      expect(third.events.map((e) => e.streamVersion)).toEqual([2]);
      await later.flush(tx);
    });
    expect((await store.readStream(s)).map((e) => (e.data as { n: number }).n)).toEqual([6, 4]);
  });

  it('through InboxBatcher: a batch writes once; a batch whose held append conflicts is retried message by message', async () => {
    const existing = stream('exists');
    await store.append(existing, [{ type: 'x.happened', data: {} }], { expected: 'no_stream' });
    const helds: number[] = [];
    const b = new InboxBatcher<{ id: string; stream: string }>(pool, store, { consumer: `pa${++n}`, maxBatch: 50, maxWaitMs: 20, parallel: 1 }, (m) => m.id, async (tx, items, _store, later) => {
      for (const m of items) {
        if (later) later.add(m.stream, [{ type: 'x.happened', data: { id: m.id } }], 'no_stream');
        else await store.append(m.stream, [{ type: 'x.happened', data: { id: m.id } }], { expected: 'no_stream', tx });
      }
      helds.push(later?.size ?? 0);
    });
    const fresh = Array.from({ length: 5 }, (_, i) => ({ id: `ok${n}-${i}`, stream: stream('new') }));
    expect(await Promise.all(fresh.map((m) => b.submit(m)))).toEqual(fresh.map(() => 'processed'));
    expect(helds).toEqual([5]);
    for (const m of fresh) expect(await store.readStream(m.stream)).toHaveLength(1);

    // One message appends to a stream that exists: the batch fails at its flush, the others commit alone.
    const mixed = [...Array.from({ length: 3 }, (_, i) => ({ id: `mix${n}-${i}`, stream: stream('new') })), { id: `dup${n}`, stream: existing }];
    const settled = await Promise.allSettled(mixed.map((m) => b.submit(m)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    for (const m of mixed.slice(0, 3)) expect(await store.readStream(m.stream)).toHaveLength(1);
    expect(await store.readStream(existing)).toHaveLength(1);
    const inbox = await pool.query('SELECT message_id FROM inbox WHERE message_id = $1', [`dup${n}`]);
    expect(inbox.rowCount).toBe(0);
  });
});
