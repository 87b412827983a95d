import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { createTestDatabase, describeHorizonHolders, eventually, useTestEnvironment, type TestDatabase } from '@steward/testing';
import { EventStore, commitSafeHead, compareCursors, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'horizon', setupDatabase: (url) => migrate(url) });

/** A session in `url` inside a transaction that has taken an xid (a writer), left open until end(). */
async function openWriter(url: string): Promise<{ xid: string; end: () => Promise<void> }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  const { rows } = await c.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
  return {
    xid: rows[0]!.xid,
    end: async () => {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

describe('the commit-safe horizon (steward_commit_horizon)', () => {
  let pool: Pool;
  let store: EventStore;
  let other: TestDatabase;
  let n = 0;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    store = new EventStore(pool);
    other = await createTestDatabase('horizonother');
  });
  afterAll(() => other.drop());

  const append = async () => (await store.append(`h-${++n}`, [{ type: 'test.happened', data: { n } }], { expected: 'no_stream' })).events[0]!;

  it('is not held back by a write transaction open in another database on the same server', async () => {
    const writer = await openWriter(other.url);
    try {
      const committed = await append();
      // The cluster-wide xmin is held back by the other database's writer ...
      const { rows } = await pool.query<{ held: boolean }>('SELECT $1::xid8 >= pg_snapshot_xmin(pg_current_snapshot()) AS held', [committed.transactionId.toString()]);
      expect(rows[0]!.held).toBe(true);
      // ... this database's horizon is not: the event becomes readable in commit-safe order while that writer stays
      // open (at once, unless another transaction of the snapshot ended in the instant before its sessions were read,
      // which keeps it in for that one statement).
      await eventually(async () => {
        expect(compareCursors(await commitSafeHead(pool), committed)).toBe(0);
        const page = await store.readAll({ transactionId: 0n, globalPosition: 0n }, { limit: 10_000 });
        expect(page.events.map((e) => e.eventId)).toContain(committed.eventId);
      }, 5_000);
      const { rows: still } = await pool.query<{ open: boolean }>('SELECT $1::xid8 >= pg_snapshot_xmin(pg_current_snapshot()) AS open', [writer.xid]);
      expect(still[0]!.open).toBe(true);
    } finally {
      await writer.end();
    }
  });

  it('is held back by a write transaction open in this database, older than a committed event', async () => {
    const writer = await openWriter(env.db.url);
    try {
      const committed = await append();
      const head = await commitSafeHead(pool);
      expect(compareCursors(head, committed)).toBeLessThan(0);
      const { rows } = await pool.query<{ horizon: string }>('SELECT steward_commit_horizon()::text AS horizon');
      expect(BigInt(rows[0]!.horizon)).toBeLessThanOrEqual(BigInt(writer.xid));
      // What a test that waits for the horizon in vain prints (libs/testing): the writer, its database and its state.
      expect(await describeHorizonHolders(pool)).toMatch(new RegExp(`xid ${writer.xid}: pid \\d+ client backend in ${env.db.name}, idle in transaction`));
    } finally {
      await writer.end();
    }
    const after = await append();
    expect(compareCursors(await commitSafeHead(pool), after)).toBe(0);
  });

  it('leaves another database\'s writer out for a role without pg_read_all_stats too (transaction ids are public)', async () => {
    const role = `steward_horizon_${randomBytes(3).toString('hex')}`;
    await pool.query(`CREATE ROLE ${role}`);
    const writer = await openWriter(other.url);
    const c = await pool.connect();
    try {
      await append();
      await c.query(`SET ROLE ${role}`);
      await eventually(async () => {
        const { rows } = await c.query<{ horizon: string }>('SELECT steward_commit_horizon()::text AS horizon');
        expect(BigInt(rows[0]!.horizon)).toBeGreaterThan(BigInt(writer.xid));
      }, 5_000);
    } finally {
      await c.query('RESET ROLE');
      c.release();
      await writer.end();
      await pool.query(`DROP ROLE ${role}`);
    }
  });

  it('lies between the snapshot\'s xmin and xmax', async () => {
    const { rows } = await pool.query<{ ok: boolean }>(
      `SELECT steward_commit_horizon() >= pg_snapshot_xmin(pg_current_snapshot()) AND steward_commit_horizon() <= pg_snapshot_xmax(pg_current_snapshot()) AS ok`,
    );
    expect(rows[0]!.ok).toBe(true);
  });
});
