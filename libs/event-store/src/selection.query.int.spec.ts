import type { Pool } from 'pg';
import { uuidv7 } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { START, compareCursors } from './cursor.model';
import { EventStore } from './event.store';
import { migrate } from './migrate.runner';
import { createPool } from './pool.factory';
import { commitSafeHead, countSelection, readSelectionEncoded, type EventSelection } from './selection.query';

describe('selection queries (replays)', () => {
  const env = useTestEnvironment({ label: 'selection', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 6 }));
    store = new EventStore(pool);
  });

  /** The commit-safe head once it covers `position` (an open transaction anywhere on the server holds it back). */
  async function headCovering(position: bigint) {
    return eventually(async () => {
      const head = await commitSafeHead(pool);
      expect(head.globalPosition).toBeGreaterThanOrEqual(position);
      return head;
    }, 30_000, 20);
  }

  const capture = (source: string, capturedAt: string, workflowId?: string) => ({ id: uuidv7(), type: 'collection.raw_captured', data: { source, capturedAt, ...(workflowId && { workflowId }) } });

  async function readAll(selection: EventSelection, upTo: Awaited<ReturnType<typeof commitSafeHead>>, limit = 2): Promise<string[]> {
    const ids: string[] = [];
    let cursor = START;
    for (;;) {
      const page = await readSelectionEncoded(pool, selection, cursor, upTo, limit);
      ids.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
      if (page.done) return ids;
    }
  }

  it('selects by type, payload field and time range, bounded by a frozen end, in commit order across pages', async () => {
    const a = [capture('s.a', '2026-05-01T00:00:00Z', 'wf'), capture('s.b', '2026-05-01T01:00:00Z'), capture('s.a', '2026-05-01T02:00:00Z'), capture('s.a', '2026-05-01T03:00:00Z', 'wf')];
    await store.append('sel-1', a, { expected: 'no_stream' });
    const other = await store.append('sel-2', [{ id: uuidv7(), type: 'other.thing', data: { source: 's.a' } }], { expected: 'no_stream' });
    const upTo = await headCovering(other.events[0]!.globalPosition);
    await store.append('sel-3', [capture('s.a', '2026-05-01T02:30:00Z')], { expected: 'no_stream' }); // after the end

    const bySource: EventSelection = { types: ['collection.raw_captured'], source: 's.a' };
    expect(await countSelection(pool, bySource, upTo)).toBe(3);
    expect(await readAll(bySource, upTo)).toEqual([a[0]!.id, a[2]!.id, a[3]!.id]);

    const inRange: EventSelection = { ...bySource, timeField: 'capturedAt', from: new Date('2026-05-01T01:00:00Z'), to: new Date('2026-05-01T03:00:00Z') };
    expect(await countSelection(pool, inRange, upTo)).toBe(1);
    expect(await readAll(inRange, upTo)).toEqual([a[2]!.id]);

    const byWorkflow: EventSelection = { types: ['collection.raw_captured'], workflowId: 'wf' };
    expect(await readAll(byWorkflow, upTo)).toEqual([a[0]!.id, a[3]!.id]);
    expect(await countSelection(pool, { types: ['collection.raw_captured', 'other.thing'] }, upTo)).toBe(5);
  });

  it('is the same envelope text the relay reads', async () => {
    const upTo = await commitSafeHead(pool);
    const page = await readSelectionEncoded(pool, { types: ['collection.raw_captured'] }, START, upTo, 100);
    // The relay's read applies the horizon, which is not monotonic: it may for a moment see less than upTo.
    await eventually(async () => {
      const relay = await store.readAllEncoded(START, { limit: 100 });
      const byId = new Map(relay.events.map((e) => [e.id, e.envelope]));
      for (const e of page.events) expect(e.envelope).toBe(byId.get(e.id));
    }, 30_000);
  });

  it('freezes the end below a transaction still open, so nothing it commits later lands inside the replay', async () => {
    const open = await pool.connect();
    try {
      await open.query('BEGIN');
      await store.append('sel-open', [capture('s.late', '2026-05-02T00:00:00Z')], { expected: 'no_stream', tx: open });
      const committed = await store.append('sel-after', [capture('s.late', '2026-05-02T00:00:01Z')], { expected: 'no_stream' });
      const head = await commitSafeHead(pool);
      // The later commit is held back: the open transaction's events would sort before it.
      expect(compareCursors(head, committed.events[0]!)).toBeLessThan(0);
      await open.query('COMMIT');
    } finally {
      open.release();
    }
    const { rows } = await pool.query<{ max: string }>('SELECT max(global_position) AS max FROM events');
    const head = await headCovering(BigInt(rows[0]!.max));
    expect(await countSelection(pool, { types: ['collection.raw_captured'], source: 's.late' }, head)).toBe(2);
  });

  it('refuses a selection without types and a time field that is not a field name', async () => {
    await expect(countSelection(pool, { types: [] }, START)).rejects.toMatchObject({ code: 'validation', issues: [{ path: 'types' }] });
    await expect(countSelection(pool, { types: ['a.b'], timeField: "x'; --", from: new Date() }, START)).rejects.toMatchObject({ issues: [{ path: 'timeField' }] });
  });
});
