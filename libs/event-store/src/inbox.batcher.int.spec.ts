import type { Pool, PoolClient } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, InboxBatcher, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'inboxbatch', setupDatabase: (url) => migrate(url) });

interface Msg {
  id: string;
  account: string;
  amount: number;
  poison?: boolean;
}

describe('InboxBatcher', () => {
  let pool: Pool;
  let store: EventStore;
  let n = 0;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 8 }));
    store = new EventStore(pool);
    await pool.query('CREATE TABLE batch_projection (account text PRIMARY KEY, total integer NOT NULL, messages integer NOT NULL)');
  });

  /** The effects of a batch: one event and one projection update per message, all in the batch's transaction. */
  async function work(tx: PoolClient, items: readonly Msg[]): Promise<void> {
    for (const m of items) {
      if (m.poison) throw new Error(`poison ${m.id}`);
      await store.append(m.account, [{ type: 'account.deposited', data: { amount: m.amount } }], { expected: 'any', tx });
      await tx.query(
        `INSERT INTO batch_projection (account, total, messages) VALUES ($1, $2, 1)
         ON CONFLICT (account) DO UPDATE SET total = batch_projection.total + EXCLUDED.total, messages = batch_projection.messages + 1`,
        [m.account, m.amount],
      );
    }
  }

  function batcher(sizes: number[] = [], maxBatch = 50) {
    return new InboxBatcher<Msg>(pool, store, { consumer: `c${++n}`, maxBatch, maxWaitMs: 5, parallel: 2, onBatch: (size) => sizes.push(size) }, (m) => m.id, work);
  }

  async function effects(account: string) {
    const { rows } = await pool.query<{ total: number; messages: number }>('SELECT total, messages FROM batch_projection WHERE account = $1', [account]);
    return { events: (await store.readStream(account)).length, total: rows[0]?.total, messages: rows[0]?.messages };
  }

  it('commits messages handled at the same time in few transactions, each message once', async () => {
    const sizes: number[] = [];
    const b = batcher(sizes);
    const account = `acct-${n}`;
    const messages = Array.from({ length: 300 }, (_, i) => ({ id: `${account}:m${i}`, account, amount: 1 }));
    const statuses = await Promise.all(messages.map((m) => b.submit(m)));
    expect(statuses.every((s) => s === 'processed')).toBe(true);
    expect(await effects(account)).toEqual({ events: 300, total: 300, messages: 300 });
    expect(sizes.reduce((a, s) => a + s, 0)).toBe(300);
    expect(sizes.length).toBeLessThanOrEqual(12); // 300 messages at most 50 a batch, not 300 transactions
    expect(Math.max(...sizes)).toBe(50);
  });

  it('treats redeliveries as duplicates with no second effect, also two copies in one batch', async () => {
    const b = batcher();
    const account = `acct-${n}`;
    const m = (i: number) => ({ id: `${account}:m${i}`, account, amount: 10 });
    expect(await Promise.all([b.submit(m(1)), b.submit(m(2))])).toEqual(['processed', 'processed']);
    expect(await Promise.all([b.submit(m(1)), b.submit(m(3)), b.submit(m(3))])).toEqual(['duplicate', 'processed', 'duplicate']);
    expect(await effects(account)).toEqual({ events: 3, total: 30, messages: 3 });
  });

  it('fails a poison message alone: the rest of its batch commits, and the poison leaves no inbox row to block a retry', async () => {
    const sizes: number[] = [];
    const b = batcher(sizes);
    const account = `acct-${n}`;
    const good = Array.from({ length: 20 }, (_, i) => ({ id: `${account}:ok${i}`, account, amount: 1 }));
    const poison = { id: `${account}:bad`, account, amount: 1000, poison: true };
    const settled = await Promise.allSettled([...good.slice(0, 10), poison, ...good.slice(10)].map((m) => b.submit(m)));
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([{ status: 'rejected', reason: new Error(`poison ${poison.id}`) }]);
    expect(await effects(account)).toEqual({ events: 20, total: 20, messages: 20 });
    const inbox = await pool.query('SELECT message_id FROM inbox WHERE message_id = $1', [poison.id]);
    expect(inbox.rowCount).toBe(0);
    // Fixed and redelivered, it runs.
    expect(await b.submit({ ...poison, poison: false })).toBe('processed');
    expect(await effects(account)).toEqual({ events: 21, total: 1020, messages: 21 });
  });

  it('flushes what is pending on drain', async () => {
    const b = new InboxBatcher<Msg>(pool, store, { consumer: `c${++n}`, maxBatch: 1000, maxWaitMs: 60_000, parallel: 1 }, (m) => m.id, work);
    const account = `acct-${n}`;
    const waiting = [1, 2, 3].map((i) => b.submit({ id: `${account}:m${i}`, account, amount: 1 }));
    await b.drain();
    expect(await Promise.all(waiting)).toEqual(['processed', 'processed', 'processed']);
  });
});
