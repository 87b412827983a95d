import { Pool as PgPool, type Pool } from 'pg';
import { allEvents, EventRegistry, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { declareTopology, provisionStreams } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, startRebuildReplay, useTestEnvironment } from '@steward/testing';
import { ensureVerdictTable, ProjectionRebuilder, ProjectionRebuildRunner, REBUILD_VERDICTS_DDL, type RebuildTarget } from './projection.rebuild';

const logger = new Logger({ service: 'rebuild-test', level: 'error' });
const registry = new EventRegistry(allEvents);

/** A toy service's projection: whether each workflow is paused, folded by the same code live and in a rebuild. */
const TOY_DDL = `
CREATE TABLE toy_paused (workflow_id text PRIMARY KEY, paused boolean NOT NULL, changes integer NOT NULL, folded_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE toy_seen (event_id uuid PRIMARY KEY);`;

async function toyFold(tx: { query: Pool['query'] }, events: StoredEvent[]): Promise<void> {
  for (const e of events) {
    const { id } = e.data as { id: string };
    await tx.query('INSERT INTO toy_seen (event_id) VALUES ($1)', [e.eventId]);
    await tx.query(
      `INSERT INTO toy_paused (workflow_id, paused, changes) VALUES ($1, $2, 1)
       ON CONFLICT (workflow_id) DO UPDATE SET paused = EXCLUDED.paused, changes = toy_paused.changes + 1, folded_at = clock_timestamp()`,
      [id, e.type === 'workflow.paused'],
    );
  }
}

describe('projection rebuilds', () => {
  const env = useTestEnvironment({ label: 'rebuild', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;
  const target: RebuildTarget = {
    service: 'toy',
    tables: [{ name: 'toy_paused', ignore: ['folded_at'] }],
    scratch: ['toy_seen'],
    types: ['workflow.paused', 'workflow.resumed'],
    fold: (tx, events) => toyFold(tx, events),
  };

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 6 }));
    await provisionStreams(env.nats.jsm, declareTopology(env.nats.subjects), logger);
    await pool.query(TOY_DDL);
    await pool.query(REBUILD_VERDICTS_DDL);
    store = new EventStore(pool, { registry, source: 'toy' });
    // The live path: events appended and folded in one transaction each.
    for (let i = 0; i < 40; i++) {
      const id = `wf-${i % 7}`;
      const type = i % 3 === 0 ? 'workflow.resumed' : 'workflow.paused';
      const at = new Date(Date.UTC(2026, 11, 1, 0, i)).toISOString();
      const data = type === 'workflow.paused' ? { id, pausedAt: at } : { id, resumedAt: at };
      const tx = await pool.connect();
      try {
        await tx.query('BEGIN');
        const { events } = await store.append(`workflow-${id}`, [{ type, data }], { expected: 'any', tx });
        await toyFold(tx, events);
        await tx.query('COMMIT');
      } finally {
        tx.release();
      }
    }
  });

  /** What the ledger does for `steward replay start --rebuild toy`. */
  const replay = (replayId: string) => startRebuildReplay(store, env.nats.nc, env.nats.subjects, { replayId, consumer: 'toy', types: ['workflow.paused', 'workflow.resumed'], db: pool });

  const rebuilder = () => new ProjectionRebuilder(target, { pool, nc: env.nats.nc, subjects: env.nats.subjects, registry, logger });

  it('folds the replay into shadow tables with the live code and finds them equal, without touching a live table', async () => {
    const liveBefore = await pool.query('SELECT workflow_id, paused, changes, folded_at FROM toy_paused ORDER BY 1');
    const verdict = await rebuilder().rebuild('rb-equal', await replay('rb-equal'), { timeoutMs: 20_000 });
    expect(verdict).toEqual({ replayId: 'rb-equal', service: 'toy', consumed: 40, applied: 40, compared: 7, skipped: 0, differences: [], ok: true });
    // The fold ran in the shadow schema: the live rows are as they were, the shadow has its own.
    expect((await pool.query('SELECT workflow_id, paused, changes, folded_at FROM toy_paused ORDER BY 1')).rows).toEqual(liveBefore.rows);
    expect((await pool.query('SELECT count(*)::int AS n FROM rebuild_toy.toy_seen')).rows[0]).toEqual({ n: 40 });
    expect((await pool.query('SELECT count(*)::int AS n FROM toy_seen')).rows[0]).toEqual({ n: 40 });
    const { rows } = await pool.query('SELECT service, ok, compared FROM projection_rebuilds WHERE replay_id = $1', ['rb-equal']);
    expect(rows).toEqual([{ service: 'toy', ok: true, compared: '7' }]);
  });

  it('names the table, the key and the columns of a live row that drifted from its events, and a row the events do not produce', async () => {
    await pool.query(`UPDATE toy_paused SET changes = changes + 5 WHERE workflow_id = 'wf-3'`);
    await pool.query(`INSERT INTO toy_paused (workflow_id, paused, changes) VALUES ('wf-ghost', true, 1)`);
    try {
      const verdict = await rebuilder().rebuild('rb-drift', await replay('rb-drift'), { timeoutMs: 20_000 });
      expect(verdict.ok).toBe(false);
      expect(verdict.differences).toEqual(['toy_paused ["wf-3"]: changes differ', 'toy_paused ["wf-ghost"]: live row the events do not produce']);
      expect(verdict.compared).toBe(8);
    } finally {
      await pool.query(`UPDATE toy_paused SET changes = changes - 5 WHERE workflow_id = 'wf-3'`);
      await pool.query(`DELETE FROM toy_paused WHERE workflow_id = 'wf-ghost'`);
    }
  });

  it('runs each rebuild replay for its service once, across two replicas, and skips cancelled ones', async () => {
    const { total, upTo } = await replay('rb-runner');
    // A cancelled rebuild is never folded.
    await replay('rb-cancelled');
    await store.append('replay-rb-cancelled', [{ type: 'replay.failed', data: { replayId: 'rb-cancelled', error: { code: 'cancelled', message: 'operator' }, at: new Date().toISOString() } }], { expected: 'any' });
    const runners = [0, 1].map(() => new ProjectionRebuildRunner(rebuilder(), 'toy', { pool, logger }, { pollMs: 100, timeoutMs: 20_000 }));
    try {
      await Promise.all(runners.map((r) => r.start()));
      const { rows } = await eventually(async () => {
        const found = await pool.query<{ replay_id: string; ok: boolean; consumed: string }>(`SELECT replay_id, ok, consumed FROM projection_rebuilds WHERE replay_id = 'rb-runner'`);
        if (found.rows.length === 0) throw new Error('not rebuilt yet');
        return found;
      }, 30_000);
      expect(rows).toEqual([{ replay_id: 'rb-runner', ok: true, consumed: String(total) }]);
      await new Promise((r) => setTimeout(r, 500));
      expect((await pool.query(`SELECT count(*)::int AS n FROM projection_rebuilds WHERE replay_id = 'rb-cancelled'`)).rows[0]).toEqual({ n: 0 });
      // The replica that waited on the lock took the recorded verdict: the one row was written once.
      const again = await rebuilder().rebuild('rb-runner', { total, upTo }, { once: true });
      expect(again).toMatchObject({ ok: true, alreadyDone: true, consumed: total });
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
    }
  }, 60_000);

  it('skips, rather than reports, a live row that changed after the replay\'s frozen end', async () => {
    const end = await replay('rb-skip');
    // wf-5 changes after the end: live moves on, the rebuild cannot know.
    await pool.query(`UPDATE toy_paused SET changes = changes + 1 WHERE workflow_id = 'wf-5'`);
    const skipping: RebuildTarget = {
      ...target,
      tables: [{ name: 'toy_paused', ignore: ['folded_at'], changedAfterEnd: `EXISTS (SELECT 1 FROM events e WHERE e.stream_id = 'workflow-' || t.workflow_id AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint))` }],
    };
    await store.append('workflow-wf-5', [{ type: 'workflow.resumed', data: { id: 'wf-5', resumedAt: new Date().toISOString() } }], { expected: 'any' });
    try {
      const verdict = await new ProjectionRebuilder(skipping, { pool, nc: env.nats.nc, subjects: env.nats.subjects, registry, logger }).rebuild('rb-skip', end, { timeoutMs: 20_000 });
      expect(verdict).toMatchObject({ ok: true, compared: 6, skipped: 1, differences: [] });
      // Without the predicate the same state is a difference.
      const strict = await rebuilder().rebuild('rb-skip', end, { timeoutMs: 20_000 });
      expect(strict).toMatchObject({ ok: false, differences: ['toy_paused ["wf-5"]: changes differ'] });
    } finally {
      await pool.query(`UPDATE toy_paused SET changes = changes - 1 WHERE workflow_id = 'wf-5'`);
    }
  });

  it('creates its verdict table once when several services start together (no catalog race)', async () => {
    const fresh = env.track(createPool(env.db.url, { max: 8 }));
    await fresh.query('CREATE SCHEMA race_check');
    try {
      // The same DDL into an empty schema, from eight pools at once, as eight services starting together.
      const racers = Array.from({ length: 8 }, async () => {
        const pool = new PgPool({ connectionString: env.db.url, options: '-c search_path=race_check', max: 1 });
        try {
          await ensureVerdictTable(pool);
        } finally {
          await pool.end();
        }
      });
      await expect(Promise.all(racers)).resolves.toHaveLength(8);
      expect((await fresh.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'race_check' AND tablename = 'projection_rebuilds'`)).rows[0]).toEqual({ n: 1 });
    } finally {
      await fresh.query('DROP SCHEMA race_check CASCADE');
    }
  });
});
