import type { Pool, PoolClient } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'appendonly', setupDatabase: (url) => migrate(url) });

describe('append-only events table', () => {
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 4 });
    store = new EventStore(pool);
    await store.append('ledger-1', [{ type: 'ledger.opened', data: { by: 'alice' } }], { expected: 'no_stream' });
  });
  afterAll(() => pool.end());

  /** Runs `sql` as `role` (or the owner) in a transaction that is always rolled back. */
  async function attempt(sql: string, role?: string): Promise<{ code?: string; message: string } | undefined> {
    const c: PoolClient = await pool.connect();
    try {
      await c.query('BEGIN');
      if (role) await c.query(`SET LOCAL ROLE ${role}`);
      await c.query(sql);
      return undefined;
    } catch (err) {
      return err as { code?: string; message: string };
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  }

  async function unchanged(): Promise<void> {
    const events = await store.readStream('ledger-1');
    expect(events.map((e) => e.data)).toEqual([{ by: 'alice' }]);
  }

  describe('as the owner, the triggers refuse', () => {
    it.each([
      ['UPDATE', `UPDATE events SET data = '{"by":"mallory"}'`],
      ['DELETE', 'DELETE FROM events'],
      ['TRUNCATE', 'TRUNCATE events'],
    ])('%s', async (op, sql) => {
      const err = await attempt(sql);
      expect(err).toMatchObject({ code: 'SE002', message: `events is append-only: ${op} is not allowed` });
      await unchanged();
    });
  });

  describe('as steward_service, the grants refuse', () => {
    it.each([
      ['UPDATE', `UPDATE events SET data = '{"by":"mallory"}'`],
      ['DELETE', 'DELETE FROM events'],
      ['TRUNCATE', 'TRUNCATE events'],
    ])('%s', async (_op, sql) => {
      const err = await attempt(sql, 'steward_service');
      expect(err).toMatchObject({ code: '42501', message: 'permission denied for table events' });
      await unchanged();
    });

    it('can still append through append_events and read', async () => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SET LOCAL ROLE steward_service');
        const r = await store.append('ledger-1', [{ type: 'ledger.noted', data: {} }], { expected: 1, tx: c });
        expect(r.nextExpectedVersion).toBe(2);
        await expect(store.readStream('ledger-1', { tx: c })).resolves.toHaveLength(2);
        await c.query('INSERT INTO inbox (consumer, message_id) VALUES ($1, $2)', ['svc', 'm-1']);
        await c.query(`INSERT INTO checkpoints (name, transaction_id, global_position) VALUES ('p', '1', 1)`);
      } finally {
        await c.query('ROLLBACK');
        c.release();
      }
    });
  });

  it('steward_readonly can read but not append', async () => {
    expect(await attempt('SELECT count(*) FROM events', 'steward_readonly')).toBeUndefined();
    const err = await attempt(
      `INSERT INTO events (stream_id, stream_version, event_id, type, data) VALUES ('x', 1, gen_random_uuid(), 'x.y', '{}')`,
      'steward_readonly',
    );
    expect(err).toMatchObject({ code: '42501' });
  });
});
