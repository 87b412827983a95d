import { Client } from 'pg';
import { createTestDatabase, createTestNats, useTestEnvironment } from './index';

describe('test environment', () => {
  const env = useTestEnvironment({ label: 'testing' });

  it('gives each test file its own empty database', async () => {
    const c = new Client({ connectionString: env.db.url });
    await c.connect();
    const { rows } = await c.query<{ db: string; tables: string }>(
      `SELECT current_database() AS db, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables`,
    );
    await c.end();
    expect(rows[0]).toEqual({ db: env.db.name, tables: '0' });
  });

  it('isolates JetStream streams and subjects under a namespace', async () => {
    const name = env.nats.subjects.stream('EVENTS');
    expect(name.startsWith(env.nats.namespace.toUpperCase())).toBe(true);
    expect(env.nats.subjects.events()).toBe(`${env.nats.namespace}.steward.events.>`);
    expect(env.env()).toMatchObject({ STEWARD_NAMESPACE: env.nats.namespace, DATABASE_URL: env.db.url });
  });

  it('removes the database and the namespace streams on cleanup', async () => {
    const db = await createTestDatabase('gone');
    const nats = await createTestNats();
    const stream = nats.subjects.stream('EVENTS');
    await nats.jsm.streams.add({ name: stream, subjects: [nats.subjects.events()] });
    await db.drop();
    const probe = await createTestNats();
    await nats.cleanup();
    await expect(probe.jsm.streams.info(stream)).rejects.toThrow(/stream not found/);
    await probe.cleanup();
    const c = new Client({ connectionString: env.db.url });
    await c.connect();
    const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    await c.end();
    expect(rows).toHaveLength(0);
  });
});
