import type { Pool } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'tryappend', setupDatabase: (url) => migrate(url) });

describe('EventStore.tryAppend', () => {
  let pool: Pool;
  let store: EventStore;
  let n = 0;
  const stream = () => `try-${++n}`;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 4 });
    store = new EventStore(pool);
  });
  afterAll(() => pool.end());

  it('appends as append does when the stream is at the expected version', async () => {
    const s = stream();
    const first = await store.tryAppend(s, [{ type: 'thing.made', data: { n: 1 } }, { type: 'thing.made', data: { n: 2 } }], { expected: 'no_stream' });
    expect(first).toMatchObject({ conflict: false, nextExpectedVersion: 2, events: [{ streamVersion: 1 }, { streamVersion: 2 }] });
    const second = await store.tryAppend(s, [{ type: 'thing.made', data: { n: 3 } }], { expected: 2 });
    expect(second).toMatchObject({ conflict: false, nextExpectedVersion: 3 });
    const stored = await store.readStream(s);
    expect(stored.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    if (first.conflict) throw new Error('unexpected conflict');
    expect(stored[0]!.globalPosition).toBe(first.events[0]!.globalPosition);
  });

  it('reports a stale expected version with the stream version, writes nothing and leaves the transaction usable', async () => {
    const s = stream();
    await store.append(s, [{ type: 'thing.made', data: {} }], { expected: 'no_stream' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(store.tryAppend(s, [{ type: 'thing.made', data: {} }], { expected: 'no_stream', tx: client })).resolves.toEqual({ conflict: true, actual: 1 });
      await expect(store.tryAppend(s, [{ type: 'thing.made', data: {} }], { expected: 5, tx: client })).resolves.toEqual({ conflict: true, actual: 1 });
      await expect(store.tryAppend('try-none', [{ type: 'thing.made', data: {} }], { expected: 'exists', tx: client })).resolves.toEqual({ conflict: true, actual: null });
      // Still usable: a statement after the conflicts commits.
      await expect(store.tryAppend(s, [{ type: 'thing.made', data: {} }], { expected: 1, tx: client })).resolves.toMatchObject({ conflict: false, nextExpectedVersion: 2 });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  it('checks an empty batch without writing', async () => {
    const s = stream();
    await expect(store.tryAppend(s, [], { expected: 'exists' })).resolves.toEqual({ conflict: true, actual: null });
    await expect(store.tryAppend(s, [], { expected: 'no_stream' })).resolves.toMatchObject({ conflict: false, nextExpectedVersion: 0, events: [] });
  });
});
