import { Client, type Pool } from 'pg';
import { createTestDatabase, useTestEnvironment, type TestDatabase } from '@steward/testing';
import { CheckpointStore, MIGRATIONS, START, createPool, migrate, runMigrations } from './index';

const env = useTestEnvironment({ label: 'migrate', setupDatabase: (url) => migrate(url) });

describe('migrate', () => {
  let fresh: TestDatabase;

  beforeAll(async () => {
    fresh = await createTestDatabase('migratefresh');
  });
  afterAll(() => fresh.drop());

  it('applies every migration once even when run concurrently, then has nothing to do', async () => {
    const reports = await Promise.all([1, 2, 3, 4].map(() => runMigrations(fresh.url)));
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, MIGRATIONS.length]);
    expect(reports.every((r) => r.version === MIGRATIONS.at(-1)!.version)).toBe(true);
    await expect(runMigrations(fresh.url)).resolves.toMatchObject({ applied: [] });

    const c = new Client({ connectionString: fresh.url });
    await c.connect();
    const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    await c.end();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('accepts a pool as well as a URL', async () => {
    const pool = createPool(fresh.url, { max: 1 });
    await expect(migrate(pool)).resolves.toBeUndefined();
    await pool.end();
  });
});

describe('checkpoints', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 4 });
  });
  afterAll(() => pool.end());

  it('loads START for an unknown reader and round-trips a saved cursor, also inside a transaction', async () => {
    const checkpoints = new CheckpointStore(pool);
    expect(await checkpoints.load('relay')).toEqual(START);
    await checkpoints.save('relay', { transactionId: 9_007_199_254_740_993n, globalPosition: 42n });
    expect(await checkpoints.load('relay')).toEqual({ transactionId: 9_007_199_254_740_993n, globalPosition: 42n });

    const tx = await pool.connect();
    await tx.query('BEGIN');
    await checkpoints.save('relay', { transactionId: 10n, globalPosition: 43n }, tx);
    await tx.query('ROLLBACK');
    tx.release();
    expect((await checkpoints.load('relay')).globalPosition).toBe(42n);
  });
});
