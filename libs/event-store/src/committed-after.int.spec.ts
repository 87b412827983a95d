import type { Pool } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { COMMITTED_AFTER } from './event.store';
import { EventStore, START, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'committedafter', setupDatabase: (url) => migrate(url) });

/** Every node type of an EXPLAIN (FORMAT JSON) plan. */
function nodeTypes(plan: { 'Node Type': string; Plans?: unknown[] }): string[] {
  return [plan['Node Type'], ...((plan.Plans ?? []) as (typeof plan)[]).flatMap(nodeTypes)];
}

describe('EventStore.committedAfter', () => {
  let pool: Pool;
  let store: EventStore;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 2 }));
    store = new EventStore(pool);
    for (let b = 0; b < 30; b++) {
      await store.append(`ca-${b}`, Array.from({ length: 100 }, (_, i) => ({ type: 'x.happened', data: { i } })), { expected: 'no_stream' });
    }
    await pool.query('ANALYZE events');
  });

  it('answers whether anything committed past a cursor', async () => {
    expect(await store.committedAfter(START)).toBe(true);
    const head = await store.headPosition();
    expect(await store.committedAfter(head)).toBe(false);
    await store.append('ca-last', [{ type: 'x.happened', data: {} }], { expected: 'no_stream' });
    expect(await store.committedAfter(head)).toBe(true);
  });

  // The relay asks this near the head after every empty read. An EXISTS form
  // let the planner scan the heap from its start (it expects a third of the
  // table past any cursor), reading the whole table before the first match.
  it('probes the commit-order index, never the heap from its start, with the plan a prepared statement settles on', async () => {
    const client = await pool.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE committed_after(xid8, bigint) AS ${COMMITTED_AFTER.text.replace('$1::xid8', '$1').replace('$2::bigint', '$2')}`);
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Node Type': string } }] }>(`EXPLAIN (FORMAT JSON) EXECUTE committed_after('1', 0)`);
      const types = nodeTypes(rows[0]!['QUERY PLAN'][0].Plan);
      expect(types).not.toContain('Seq Scan');
      expect(types.some((t) => t.startsWith('Index'))).toBe(true);
    } finally {
      await client.query('DEALLOCATE ALL');
      await client.query('RESET plan_cache_mode');
      client.release();
    }
  });
});
