import type { Pool, PoolClient } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, migrate, processOnce, unitOfWork } from './index';

const env = useTestEnvironment({ label: 'inbox', setupDatabase: (url) => migrate(url) });

describe('processOnce', () => {
  let pool: Pool;
  let store: EventStore;
  let n = 0;

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 8 });
    store = new EventStore(pool);
    await pool.query('CREATE TABLE deposits_projection (account text PRIMARY KEY, total integer NOT NULL)');
  });
  afterAll(() => pool.end());

  /** A handler's effects: one event appended and a projection row updated, in the given transaction. */
  async function deposit(tx: PoolClient, account: string, amount: number): Promise<number> {
    const { nextExpectedVersion } = await store.append(account, [{ type: 'account.deposited', data: { amount } }], {
      expected: 'any',
      tx,
    });
    await tx.query(
      `INSERT INTO deposits_projection (account, total) VALUES ($1, $2)
       ON CONFLICT (account) DO UPDATE SET total = deposits_projection.total + EXCLUDED.total`,
      [account, amount],
    );
    return nextExpectedVersion;
  }

  async function effects(account: string): Promise<{ events: number; total: number | undefined; inbox: number }> {
    const events = (await store.readStream(account)).length;
    const { rows } = await pool.query<{ total: number }>('SELECT total FROM deposits_projection WHERE account = $1', [account]);
    const inbox = await pool.query('SELECT 1 FROM inbox WHERE message_id LIKE $1', [`${account}:%`]);
    return { events, total: rows[0]?.total, inbox: inbox.rowCount ?? 0 };
  }

  it('runs a message once; a redelivery of the same id is a duplicate with no second effect', async () => {
    const account = `acct-${++n}`;
    const first = await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 5));
    expect(first).toEqual({ status: 'processed', result: 1 });
    const again = await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 5));
    expect(again).toEqual({ status: 'duplicate' });
    expect(await effects(account)).toEqual({ events: 1, total: 5, inbox: 1 });
  });

  it('keeps consumers apart: the same message id is new to another consumer', async () => {
    const account = `acct-${++n}`;
    await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 1));
    const other = await processOnce(pool, store, 'alerter', `${account}:m1`, async () => 'seen');
    expect(other).toEqual({ status: 'processed', result: 'seen' });
  });

  it('rolls back the inbox entry, the events and the projection when the handler throws, so a redelivery runs again', async () => {
    const account = `acct-${++n}`;
    await expect(
      processOnce(pool, store, 'ledger', `${account}:m1`, async (tx) => {
        await deposit(tx, account, 5);
        throw new Error('handler failed after writing');
      }),
    ).rejects.toThrow('handler failed after writing');
    expect(await effects(account)).toEqual({ events: 0, total: undefined, inbox: 0 });

    const retry = await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 5));
    expect(retry.status).toBe('processed');
    expect(await effects(account)).toEqual({ events: 1, total: 5, inbox: 1 });
  });

  it('treats a redelivery after a crash between commit and ack as a duplicate', async () => {
    const account = `acct-${++n}`;
    // The process commits, then dies before acking: the broker redelivers the
    // same message id to another replica, which calls processOnce again.
    void (await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 9)));
    const redelivered = await processOnce(pool, store, 'ledger', `${account}:m1`, (tx) => deposit(tx, account, 9));
    expect(redelivered).toEqual({ status: 'duplicate' });
    expect(await effects(account)).toEqual({ events: 1, total: 9, inbox: 1 });
  });

  it('lets exactly one of two concurrent deliveries of the same id take effect', async () => {
    const account = `acct-${++n}`;
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () =>
        processOnce(pool, store, 'ledger', `${account}:m1`, async (tx) => {
          const v = await deposit(tx, account, 3);
          await new Promise((r) => setTimeout(r, 50)); // keep the first transaction open while the others arrive
          return v;
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'processed')).toHaveLength(1);
    expect(await effects(account)).toEqual({ events: 1, total: 3, inbox: 1 });
  });
});

describe('unitOfWork', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 2 });
    await pool.query('CREATE TABLE uow_probe (id integer PRIMARY KEY)');
  });
  afterAll(() => pool.end());

  it('commits what fn did when it resolves and rolls it back when it throws', async () => {
    await expect(unitOfWork(pool, async (tx) => (await tx.query('INSERT INTO uow_probe VALUES (1)')).rowCount)).resolves.toBe(1);
    await expect(
      unitOfWork(pool, async (tx) => {
        await tx.query('INSERT INTO uow_probe VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM uow_probe ORDER BY id');
    expect(rows).toEqual([{ id: 1 }]);
  });
});
