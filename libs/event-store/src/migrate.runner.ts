import { Client, type Pool, type PoolClient } from 'pg';
import { MIGRATIONS, type Migration } from './schema.migrations';

// Any constant works; it only has to be the same for every migrator.
const MIGRATION_LOCK = 0x5354_4557; // "STEW"

export interface MigrationReport {
  applied: Migration[];
  /** Highest migration version now in the database. */
  version: number;
}

/** Brings the database to the latest schema. Idempotent and safe to run concurrently. */
export async function migrate(databaseUrlOrPool: string | Pool): Promise<void> {
  await runMigrations(databaseUrlOrPool);
}

/**
 * Every pending migration in ONE transaction under a transaction-scoped
 * advisory lock: a concurrent migrator waits, then finds nothing to do; a
 * failing step leaves the schema exactly as it was.
 */
export async function runMigrations(databaseUrlOrPool: string | Pool): Promise<MigrationReport> {
  const client = typeof databaseUrlOrPool === 'string' ? new Client({ connectionString: databaseUrlOrPool }) : undefined;
  let pooled: PoolClient | undefined;
  if (client) await client.connect();
  else pooled = await (databaseUrlOrPool as Pool).connect();
  const db = (client ?? pooled)!;
  let failed: unknown;
  try {
    await db.query('BEGIN');
    await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const pending = MIGRATIONS.filter((m) => !done.has(m.version));
    for (const m of pending) {
      await db.query(m.sql);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await db.query('COMMIT');
    return { applied: pending, version: Math.max(0, ...done, ...pending.map((m) => m.version)) };
  } catch (err) {
    failed = err;
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (client) await client.end().catch(() => undefined);
    // After a failure the connection is discarded rather than trusted back in the pool.
    else pooled?.release(failed instanceof Error ? failed : undefined);
  }
}
