import type { Pool } from 'pg';
import { z } from 'zod';
import { ConcurrencyError, EventRegistry, IllegalStateError, defineEvent, type StoredEvent } from '@steward/contracts';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, handleCommand, migrate, processOnce, type Decider, type Queryable } from './index';

const env = useTestEnvironment({ label: 'command', setupDatabase: (url) => migrate(url) });

interface Counter {
  value: number;
}
type Increment = { by: number; limit: number };

const counter: Decider<Counter, Increment, { by: number }> = {
  initialState: () => ({ value: 0 }),
  evolve: (s, e) => (e.type === 'counter.incremented' ? { value: s.value + e.data.by } : s),
  decide: (c, s) => {
    if (s.value + c.by > c.limit) throw new IllegalStateError(`counter would pass ${c.limit}`);
    return [{ type: 'counter.incremented', data: { by: c.by } }];
  },
};

/**
 * A real second writer that slips an event in between the handler's read and
 * its append, on the first `times` reads: the conflict the retry is for.
 */
class InterleavingStore extends EventStore {
  reads = 0;
  constructor(
    pool: Pool,
    private readonly times: number,
  ) {
    super(pool);
  }

  override async readStream(streamId: string, options: { fromVersion?: number; tx?: Queryable } = {}): Promise<StoredEvent[]> {
    const events = await super.readStream(streamId, options);
    if (this.reads++ < this.times) {
      await super.append(streamId, [{ type: 'counter.incremented', data: { by: 100 } }], { expected: 'any' });
    }
    return events;
  }
}

describe('handleCommand', () => {
  let pool: Pool;
  let n = 0;
  const stream = () => `counter-${++n}`;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 6 });
  });
  afterAll(() => pool.end());

  it('reads, folds, decides and appends with the version it read', async () => {
    const store = new EventStore(pool);
    const s = stream();
    await handleCommand(store, s, counter, { by: 2, limit: 10 });
    const r = await handleCommand(store, s, counter, { by: 3, limit: 10 }, { metadata: { correlationId: 'corr-7' } });
    expect(r.nextExpectedVersion).toBe(2);
    expect(r.events[0]).toMatchObject({ streamVersion: 2, data: { by: 3 }, metadata: { correlationId: 'corr-7' } });
    await expect(handleCommand(store, s, counter, { by: 6, limit: 10 })).rejects.toBeInstanceOf(IllegalStateError);
  });

  it('retries on a conflict caused by a concurrent writer and decides on the newer state', async () => {
    const store = new InterleavingStore(pool, 2);
    const s = stream();
    const r = await handleCommand(store, s, counter, { by: 1, limit: 1_000 });
    expect(store.reads).toBe(3);
    expect(r.events[0]!.streamVersion).toBe(3);
    expect((await store.readStream(s)).map((e) => (e.data as { by: number }).by)).toEqual([100, 100, 1]);
  });

  it('decides against the state the concurrent writer produced', async () => {
    const store = new InterleavingStore(pool, 1);
    // The interleaved +100 makes the command illegal on retry.
    await expect(handleCommand(store, stream(), counter, { by: 1, limit: 50 })).rejects.toBeInstanceOf(IllegalStateError);
  });

  it('gives up after maxRetries with the ConcurrencyError', async () => {
    const store = new InterleavingStore(pool, Number.POSITIVE_INFINITY);
    const s = stream();
    const err = await handleCommand(store, s, counter, { by: 1, limit: 1_000 }, { maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toMatchObject({ streamId: s });
    expect(store.reads).toBe(3);
  });

  it('defaults to three retries', async () => {
    const store = new InterleavingStore(pool, Number.POSITIVE_INFINITY);
    await expect(handleCommand(store, stream(), counter, { by: 1, limit: 1_000 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(store.reads).toBe(4);
  });

  it('retries inside the caller transaction without losing the inbox entry', async () => {
    const store = new InterleavingStore(pool, 1);
    const s = stream();
    const outcome = await processOnce(pool, store, 'counter', `${s}:m1`, (tx) =>
      handleCommand(store, s, counter, { by: 1, limit: 1_000 }, { tx }),
    );
    expect(outcome).toMatchObject({ status: 'processed', result: { nextExpectedVersion: 2 } });
    expect((await store.readStream(s)).map((e) => (e.data as { by: number }).by)).toEqual([100, 1]);
    const inbox = await pool.query('SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2', ['counter', `${s}:m1`]);
    expect(inbox.rowCount).toBe(1);
  });

  it('retries inside the caller transaction without a savepoint: the conflict is reported, not raised', async () => {
    const store = new InterleavingStore(pool, 1);
    const s = stream();
    const statements: string[] = [];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const tx: Queryable = {
        query: ((q: string | { text: string }, values?: unknown[]) => {
          statements.push(typeof q === 'string' ? q : q.text);
          return client.query(q as string, values);
        }) as Queryable['query'],
      };
      const r = await handleCommand(store, s, counter, { by: 1, limit: 1_000 }, { tx });
      await client.query('COMMIT');
      expect(r.nextExpectedVersion).toBe(2);
    } finally {
      client.release();
    }
    expect(statements.filter((q) => /SAVEPOINT/i.test(q))).toEqual([]);
    expect((await store.readStream(s)).map((e) => (e.data as { by: number }).by)).toEqual([100, 1]);
  });

  it('orders two transactions deciding on one stream: the second waits for the first to commit and decides on its state', async () => {
    const store = new EventStore(pool);
    const s = stream();
    await handleCommand(store, s, counter, { by: 1, limit: 1_000 });
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await handleCommand(store, s, counter, { by: 10, limit: 1_000 }, { tx: a });
      // b read the stream before a committed; its append waits on a's stream lock, then finds a's event.
      const second = handleCommand(store, s, counter, { by: 20, limit: 1_000 }, { tx: b });
      await new Promise((r) => setTimeout(r, 100));
      await a.query('COMMIT');
      const r = await second;
      await b.query('COMMIT');
      expect(r.events[0]!.streamVersion).toBe(3);
    } finally {
      a.release();
      b.release();
    }
    expect((await store.readStream(s)).map((e) => (e.data as { by: number }).by)).toEqual([1, 10, 20]);
  });

  it('decides first on the history the caller read, without reading it again; a conflict then reads the stream', async () => {
    const store = new InterleavingStore(pool, 0);
    const s = stream();
    await handleCommand(store, s, counter, { by: 1, limit: 1_000 });
    const history = await store.readStream(s);
    store.reads = 0;
    const r = await handleCommand(store, s, counter, { by: 2, limit: 1_000 }, { history });
    expect(store.reads).toBe(0);
    expect(r.events[0]!.streamVersion).toBe(2);
    // A stale history: its append conflicts, and the retry decides on what the stream holds.
    const stale = await handleCommand(store, s, counter, { by: 4, limit: 1_000 }, { history });
    expect(store.reads).toBe(1);
    expect(stale.events[0]!.streamVersion).toBe(3);
    expect((await store.readStream(s)).map((e) => (e.data as { by: number }).by)).toEqual([1, 2, 4]);
  });

  it('upcasts old schema versions before evolve sees them', async () => {
    const Incremented = defineEvent({
      type: 'counter.incremented',
      version: 2,
      schema: z.object({ by: z.number() }),
      description: 'v2 renamed step to by',
      history: [{ version: 1, schema: z.object({ step: z.number() }), upcast: (d: { step: number }) => ({ by: d.step }) }],
    });
    const raw = new EventStore(pool);
    const s = stream();
    await raw.append(s, [{ type: 'counter.incremented', schemaVersion: 1, data: { step: 4 } }], { expected: 'no_stream' });
    const store = new EventStore(pool, { registry: new EventRegistry([Incremented]) });
    await expect(handleCommand(store, s, counter, { by: 1, limit: 4 })).rejects.toBeInstanceOf(IllegalStateError);
    await expect(handleCommand(store, s, counter, { by: 1, limit: 5 })).resolves.toMatchObject({ nextExpectedVersion: 2 });
  });
});
