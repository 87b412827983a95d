import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { infrastructure } from './infrastructure';

export interface TestDatabase {
  /** Connection string of the fresh database, e.g. for a spawned service's DATABASE_URL. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A brand-new, empty database on the test server; `drop()` removes it (forcing out connections). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const { databaseUrl } = await infrastructure();
  const name = `steward_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(databaseUrl, name),
    name,
    drop: async () => {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
