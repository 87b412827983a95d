import type { Pool } from 'pg';
import { IllegalStateError, type StoredEvent } from '@steward/contracts';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, handleCommand, migrate, unitOfWork, type Decider, type Queryable } from './index';

const env = useTestEnvironment({ label: 'cmdnew', setupDatabase: (url) => migrate(url) });

interface Order {
  opened: boolean;
  items: number;
}
type OrderCommand = { type: 'Open' } | { type: 'Add' };

/** Open decides nothing on an open order; Add is refused on an order that is not open. */
const order: Decider<Order, OrderCommand> = {
  initialState: () => ({ opened: false, items: 0 }),
  evolve: (s, e) => (e.type === 'order.opened' ? { ...s, opened: true } : e.type === 'order.item_added' ? { ...s, items: s.items + 1 } : s),
  decide: (c, s) => {
    if (c.type === 'Open') return s.opened ? [] : [{ type: 'order.opened', data: {} }];
    if (!s.opened) throw new IllegalStateError('the order is not open');
    return [{ type: 'order.item_added', data: {} }];
  },
};

class CountingStore extends EventStore {
  reads = 0;

  override readStream(streamId: string, options: { fromVersion?: number; tx?: Queryable } = {}): Promise<StoredEvent[]> {
    this.reads++;
    return super.readStream(streamId, options);
  }
}

describe('handleCommand with expectNew', () => {
  let pool: Pool;
  let n = 0;
  const stream = () => `order-${++n}`;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 4 });
  });
  afterAll(() => pool.end());

  it('appends to a new stream without reading it, also inside a transaction', async () => {
    const store = new CountingStore(pool);
    const s = stream();
    const r = await unitOfWork(pool, (tx) => handleCommand(store, s, order, { type: 'Open' }, { tx, expectNew: true }));
    expect(store.reads).toBe(0);
    expect(r.events.map((e) => e.type)).toEqual(['order.opened']);
    expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1]);
  });

  it('decides on the real state when the stream exists after all: nothing twice, and no refusal of the assumed empty state', async () => {
    const store = new CountingStore(pool);
    const s = stream();
    await handleCommand(store, s, order, { type: 'Open' });
    // Open again: the blind append conflicts, the read finds the order open and decides nothing.
    const again = await unitOfWork(pool, (tx) => handleCommand(store, s, order, { type: 'Open' }, { tx, expectNew: true }));
    expect(again.events).toEqual([]);
    // Add is refused on the empty state; on the stream's state it is accepted.
    const added = await handleCommand(store, s, order, { type: 'Add' }, { expectNew: true });
    expect(added.events.map((e) => e.type)).toEqual(['order.item_added']);
    expect((await store.readStream(s)).map((e) => e.type)).toEqual(['order.opened', 'order.item_added']);
  });

  it('still refuses what the real state refuses', async () => {
    const store = new CountingStore(pool);
    await expect(handleCommand(store, stream(), order, { type: 'Add' }, { expectNew: true })).rejects.toBeInstanceOf(IllegalStateError);
  });
});
