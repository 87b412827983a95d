import type { Pool, PoolClient } from 'pg';
import type { StoredEvent } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { EventStore, START, compareCursors, createPool, migrate, type Cursor } from './index';

const env = useTestEnvironment({ label: 'readall', setupDatabase: (url) => migrate(url) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('readAll (commit-safe order)', () => {
  let pool: Pool;
  let store: EventStore;
  let n = 0;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 24 });
    store = new EventStore(pool);
  });
  afterAll(() => pool.end());

  const event = (label: string) => ({ type: 'test.happened', data: { label } });

  async function appendCommitted(label: string): Promise<StoredEvent> {
    return (await store.append(`s-${++n}`, [event(label)], { expected: 'no_stream' })).events[0]!;
  }

  /** Appends inside a transaction that stays open until the returned commit() is called. */
  async function appendHeldOpen(label: string): Promise<{ event: StoredEvent; commit: () => Promise<void> }> {
    const tx: PoolClient = await pool.connect();
    await tx.query('BEGIN');
    const { events } = await store.append(`s-${++n}`, [event(label)], { expected: 'no_stream', tx });
    return {
      event: events[0]!,
      commit: async () => {
        await tx.query('COMMIT');
        tx.release();
      },
    };
  }

  /** The classic bug, kept here to prove the scenario really loses events. */
  async function naiveRead(after: bigint): Promise<{ events: StoredEvent[]; last: bigint }> {
    const { rows } = await pool.query<{ global_position: string; event_id: string; data: { label: string } }>(
      'SELECT global_position, event_id, data FROM events WHERE global_position > $1 ORDER BY global_position',
      [after.toString()],
    );
    const events = rows.map((r) => ({ globalPosition: BigInt(r.global_position), eventId: r.event_id, data: r.data }) as StoredEvent);
    return { events, last: events.at(-1)?.globalPosition ?? after };
  }

  async function drain(from: Cursor, seen: StoredEvent[]): Promise<Cursor> {
    let cursor = from;
    for (;;) {
      const page = await store.readAll(cursor, { limit: 7 });
      if (page.events.length === 0) return cursor;
      seen.push(...page.events);
      cursor = page.cursor;
    }
  }

  it('does not read past a transaction that is still open, and delivers its event once it commits', async () => {
    const head = await store.headPosition();
    const naive = await naiveRead(head.globalPosition);

    const held = await appendHeldOpen('late');
    const safeSeen: StoredEvent[] = [];
    let cursor = head;
    let naiveFirst: Awaited<ReturnType<typeof naiveRead>>;
    try {
      const later = [await appendCommitted('a'), await appendCommitted('b'), await appendCommitted('c')];
      expect(held.event.globalPosition < later[0]!.globalPosition).toBe(true);

      // Both readers poll while the early position is still uncommitted.
      cursor = await drain(head, safeSeen);
      expect(safeSeen).toEqual([]);
      expect(compareCursors(cursor, head)).toBe(0);
      naiveFirst = await naiveRead(naive.last);
      expect(naiveFirst.events.map((e) => e.data)).toEqual([{ label: 'a' }, { label: 'b' }, { label: 'c' }]);
    } finally {
      await held.commit();
    }

    await eventually(async () => {
      cursor = await drain(cursor, safeSeen);
      expect(safeSeen.map((e) => e.data)).toEqual([{ label: 'late' }, { label: 'a' }, { label: 'b' }, { label: 'c' }]);
    });
    // The position-only cursor already moved past the late event: lost for good.
    const naiveSecond = await naiveRead(naiveFirst.last);
    const naiveSeen = [...naiveFirst.events, ...naiveSecond.events].map((e) => e.eventId);
    expect(naiveSeen).not.toContain(held.event.eventId);
  });

  it('a reader looping from a cursor sees every event exactly once while writers commit out of order', async () => {
    const start = await store.headPosition();
    const appended: StoredEvent[] = [];
    const safeSeen: StoredEvent[] = [];
    const naiveSeen: string[] = [];
    let naiveLast = start.globalPosition;
    let writing = true;

    const reader = (async () => {
      let cursor = start;
      while (writing) {
        cursor = await drain(cursor, safeSeen);
        await sleep(5);
      }
      return cursor;
    })();
    const naiveReader = (async () => {
      while (writing) {
        const page = await naiveRead(naiveLast);
        naiveSeen.push(...page.events.map((e) => e.eventId));
        naiveLast = page.last;
        await sleep(5);
      }
    })();

    // One slow transaction takes its position first and commits last, after
    // the naive reader has certainly moved past it.
    const slow = await appendHeldOpen('slow');
    let slowOpen = true;
    try {
      appended.push(slow.event);
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 10; i++) {
          if (i % 3 === 0) {
            const held = await appendHeldOpen(`w${w}-${i}`);
            await sleep(Math.random() * 30);
            await held.commit();
            appended.push(held.event);
          } else {
            appended.push(await appendCommitted(`w${w}-${i}`));
          }
        }
      });
      await Promise.all(writers);
      await eventually(() => expect(naiveLast > slow.event.globalPosition).toBe(true));
      // While the slow transaction is open the safe reader must stop before it.
      expect(safeSeen.every((e) => e.transactionId < slow.event.transactionId)).toBe(true);
      await slow.commit();
      slowOpen = false;
      await eventually(() => expect(safeSeen.length).toBeGreaterThanOrEqual(appended.length), 15_000);
    } finally {
      if (slowOpen) await slow.commit();
      writing = false;
    }
    const cursor = await reader;
    await naiveReader;

    const ids = safeSeen.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(appended.map((e) => e.eventId)));
    for (let i = 1; i < safeSeen.length; i++) expect(compareCursors(safeSeen[i - 1]!, safeSeen[i]!)).toBe(-1);
    expect(compareCursors(cursor, safeSeen.at(-1)!)).toBe(0);
    // The position-only reader lost the slow event, and with it every other late commit.
    expect(naiveSeen).not.toContain(slow.event.eventId);
    expect(naiveSeen.length).toBeLessThan(appended.length);
  });

  it('pages with limit and filters by type', async () => {
    const head = await store.headPosition();
    await store.append(`s-${++n}`, [event('x'), { type: 'test.other', data: {} }, event('y')], { expected: 'no_stream' });
    const page = await eventually(async () => {
      const p = await store.readAll(head, { limit: 2 });
      expect(p.events).toHaveLength(2);
      return p;
    });
    expect(page.cursor).toEqual({ transactionId: page.events[1]!.transactionId, globalPosition: page.events[1]!.globalPosition });
    const rest = await store.readAll(page.cursor, { limit: 2 });
    expect(rest.events.map((e) => e.type)).toEqual(['test.happened']);
    const typed = await store.readAll(head, { types: ['test.other'] });
    expect(typed.events.map((e) => e.type)).toEqual(['test.other']);
  });

  it('starts from START and reports the head as the last commit-safe position', async () => {
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events');
    const end = await eventually(async () => {
      const seen: StoredEvent[] = [];
      const c = await drain(START, seen);
      expect(seen).toHaveLength(Number(rows[0]!.n));
      expect(c).toEqual(await store.headPosition());
      return c;
    });
    expect(end.globalPosition > 0n).toBe(true);
  });
});
