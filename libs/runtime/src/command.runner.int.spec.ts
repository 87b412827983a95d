import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { IllegalStateError } from '@steward/contracts';
import { createPool, EventStore, migrate, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { useTestEnvironment } from '@steward/testing';
import { CommandRunner } from './command.runner';

const Payload = z.object({ id: z.string() });

function command(id: string): CommandEnvelope {
  return { commandId: `cmd-${id}`, service: 'toy', name: 'toy', payload: { id }, correlationId: `corr-${id}`, issuedAt: new Date().toISOString() };
}

/** The statements a command sent, on a client inside an open transaction. */
function recording(client: PoolClient, statements: string[]): Queryable {
  return {
    query: ((q: string | { text: string }, values?: unknown[]) => {
      statements.push(typeof q === 'string' ? q : q.text);
      return client.query(q as string, values);
    }) as Queryable['query'],
  };
}

describe('CommandRunner.runInTransaction', () => {
  const env = useTestEnvironment({ label: 'cmdrunner', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;
  let runner: CommandRunner;

  beforeAll(() => {
    pool = createPool(env.db.url, { max: 4 });
    store = new EventStore(pool);
    runner = new CommandRunner(pool, store, { service: 'toy' });
  });
  afterAll(() => pool.end());

  async function inTransaction<T>(fn: (tx: Queryable, statements: string[]) => Promise<T>): Promise<{ result?: T; error?: unknown; statements: string[] }> {
    const client = await pool.connect();
    const statements: string[] = [];
    try {
      await client.query('BEGIN');
      const result = await fn(recording(client, statements), statements);
      await client.query('COMMIT');
      return { result, statements };
    } catch (error) {
      await client.query('ROLLBACK');
      return { error, statements };
    } finally {
      client.release();
    }
  }

  const write = (id: string) => async (tx: Queryable) => (await store.append(`toy-${id}`, [{ type: 'toy.done', data: {} }], { expected: 'no_stream', tx })).events;

  it('rolls a refused command back to its savepoint and records command.rejected', async () => {
    const { result, statements } = await inTransaction((tx) =>
      runner.runInTransaction(tx, command('a'), Payload, async (tx) => {
        await write('a')(tx);
        throw new IllegalStateError('refused after writing');
      }),
    );
    expect(result).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    expect(statements.filter((q) => /SAVEPOINT/.test(q))).toHaveLength(2);
    expect(await store.readStream('toy-a')).toEqual([]);
    expect((await store.readStream('command-cmd-a')).map((e) => e.type)).toEqual(['command.rejected']);
  });

  it('without a savepoint sends none, and raises a refusal instead of recording it, so the caller rolls back everything', async () => {
    const { error, statements } = await inTransaction((tx) =>
      runner.runInTransaction(
        tx,
        command('b'),
        Payload,
        async (tx) => {
          await write('b')(tx);
          throw new IllegalStateError('refused after writing');
        },
        { savepoint: false },
      ),
    );
    expect(error).toBeInstanceOf(IllegalStateError);
    expect(statements.some((q) => /SAVEPOINT/.test(q))).toBe(false);
    expect(await store.readStream('toy-b')).toEqual([]);
    expect(await store.readStream('command-cmd-b')).toEqual([]);
  });

  it('without a savepoint records what a command that is not refused did, as with one', async () => {
    const { result, statements } = await inTransaction((tx) => runner.runInTransaction(tx, command('c'), Payload, write('c'), { savepoint: false }));
    expect(result).toMatchObject({ status: 'recorded', types: ['toy.done'] });
    expect(statements.some((q) => /SAVEPOINT/.test(q))).toBe(false);
    expect((await store.readStream('toy-c')).map((e) => e.type)).toEqual(['toy.done']);
  });
});
