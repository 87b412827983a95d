// A realistic event history, generated inside Postgres for speed, and the
// sample ids to query it with, derived client-side from the same formulas.
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';

/**
 * Shape of the history (all deterministic in the row number `i`):
 * - runs of 20 events, 64 runs in flight at once, so a run's events are
 *   interleaved with others across ~1,300 rows as in a busy store;
 * - one workflow per run, skewed (u^3): a few hot workflows run every few
 *   minutes, most run a handful of times a month (~N/100 workflows);
 * - correlation and run id per run, causation chain inside each run (the
 *   first event is caused by the command that started the run);
 * - 30 event types; occurred_at spread evenly over the 30 days before the
 *   seed started, in position order; transaction ids increasing with
 *   position and all older than any running transaction (commit-safe).
 */
export const RUN_LENGTH = 20;
const IN_FLIGHT = 64;
const BLOCK = RUN_LENGTH * IN_FLIGHT;
const DAYS = 30;
const STEP_TYPES = [
  'step.scheduled', 'step.started', 'step.succeeded', 'step.failed', 'step.retried', 'collection.requested',
  'collection.raw_captured', 'collection.failed', 'transform.started', 'transform.completed', 'transform.failed',
  'task.dispatched', 'task.started', 'task.succeeded', 'task.failed', 'task.heartbeat', 'approval.requested',
  'approval.granted', 'approval.rejected', 'cost.recorded', 'alert.raised', 'alert.acknowledged', 'alert.resolved',
  'schedule.fired', 'schedule.skipped', 'replay.progressed', 'budget.warning', 'slo.breached',
];
export const EVENT_TYPES = ['run.started', 'run.completed', ...STEP_TYPES];

export interface SeededHistory {
  events: number;
  runs: number;
  workflows: number;
  /** The newest occurred_at: "now" for last-hour queries. */
  end: Date;
  start: Date;
}

export interface SeedProgress {
  (message: string): void;
}

function md5uuid(text: string): string {
  const h = createHash('md5').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function workflowOfRun(run: number, workflows: number): number {
  // Knuth's multiplicative hash as a uniform draw; cubed, so low ids are hot.
  // Plain multiplications on both sides: exactly rounded, so JS and SQL agree to the bit.
  const u = Number((BigInt(run) * 2654435761n) % 4294967296n) / 4294967296;
  return Math.floor(workflows * (u * u * u));
}

/** Ids of the seeded history, computed exactly as the SQL below computes them. */
export const ids = {
  runOf: (i: number) => Math.floor(i / BLOCK) * IN_FLIGHT + (i % IN_FLIGHT),
  firstEventOfRun: (run: number) => Math.floor(run / IN_FLIGHT) * BLOCK + (run % IN_FLIGHT),
  eventId: (i: number) => md5uuid(`e${i}`),
  correlationId: (run: number) => md5uuid(`c${run}`),
  runId: (run: number) => md5uuid(`r${run}`),
  workflowId: (run: number, workflows: number) => `wf-${String(workflowOfRun(run, workflows)).padStart(6, '0')}`,
};

const INSERT_CHUNK = `
  INSERT INTO events (transaction_id, stream_id, stream_version, event_id, type, schema_version, data, metadata, occurred_at)
  SELECT (($5::bigint + ($6::bigint * g.i) / $3::bigint)::text)::xid8,
         'run-' || r.run,
         r.seq + 1,
         md5('e' || g.i)::uuid,
         CASE r.seq WHEN 0 THEN 'run.started' WHEN ${RUN_LENGTH - 1} THEN 'run.completed'
                    ELSE ($7::text[])[1 + (r.seq + r.run) % ${STEP_TYPES.length}] END,
         1,
         jsonb_build_object('step', 'step-' || r.seq, 'attempt', 1 + g.i % 3, 'rows', g.i % 5000,
                            'durationMs', g.i % 997, 'source', 'portal.example'),
         jsonb_build_object('correlationId', md5('c' || r.run)::uuid::text,
                            'causationId', CASE WHEN r.seq = 0 THEN md5('cmd' || r.run)::uuid::text
                                                ELSE md5('e' || (g.i - ${IN_FLIGHT}))::uuid::text END,
                            'workflowId', 'wf-' || lpad(floor($4::float8 * (r.u * r.u * r.u))::bigint::text, 6, '0'),
                            'runId', md5('r' || r.run)::uuid::text,
                            'source', 'steward.executor',
                            'actor', 'system'),
         to_timestamp($8::float8 + $9::float8 * g.i / $3::float8)
    FROM generate_series($1::bigint, $2::bigint) AS g(i)
    CROSS JOIN LATERAL (SELECT (g.i / ${BLOCK}) * ${IN_FLIGHT} + g.i % ${IN_FLIGHT} AS run,
                               (g.i % ${BLOCK}) / ${IN_FLIGHT} AS seq) r0
    CROSS JOIN LATERAL (SELECT r0.run, r0.seq, ((r0.run * 2654435761::bigint) % 4294967296)::float8 / 4294967296 AS u) r`;

/**
 * Fills the (freshly migrated, empty) events table with `n` events as fast
 * as Postgres can: the migration's indexes and unique constraints are
 * dropped first and rebuilt from their own definitions afterwards (one
 * sorted build instead of 10 million random inserts each), and the table is
 * UNLOGGED while it fills (a scratch database; reads are unaffected).
 * Ends with VACUUM (ANALYZE), as autovacuum would have.
 */
export async function seedEventHistory(pool: Pool, n: number, progress: SeedProgress = () => undefined): Promise<SeededHistory> {
  const db = await pool.connect();
  try {
    await db.query(`SET maintenance_work_mem = '1GB'`);
    await db.query('SET max_parallel_maintenance_workers = 2');
    const { rows: defs } = await db.query<{ kind: string; name: string; def: string }>(`
      SELECT 'constraint' AS kind, conname AS name, pg_get_constraintdef(oid) AS def
        FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype IN ('p', 'u')
      UNION ALL
      SELECT 'index', indexname, indexdef FROM pg_indexes
       WHERE tablename = 'events' AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass)`);
    for (const d of defs) {
      await db.query(d.kind === 'constraint' ? `ALTER TABLE events DROP CONSTRAINT ${d.name}` : `DROP INDEX ${d.name}`);
    }
    await db.query('ALTER TABLE events SET UNLOGGED');

    const { rows: x } = await db.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    // Transaction ids from 1000 up to just below every snapshot's xmin: all committed, all readable.
    const xidLow = 1_000n;
    const xidSpan = BigInt(x[0]!.xmin) - 10n - xidLow;
    if (xidSpan < 1_000n) throw new Error(`transaction ids too young to seed (${x[0]!.xmin})`);
    const workflows = Math.max(100, Math.floor(n / 100));
    const end = new Date();
    const start = new Date(end.getTime() - DAYS * 86_400_000);
    const chunk = 1_000_000;
    const t0 = Date.now();
    for (let lo = 0; lo < n; lo += chunk) {
      const hi = Math.min(n, lo + chunk) - 1;
      await db.query(INSERT_CHUNK, [lo, hi, n, workflows, xidLow.toString(), xidSpan.toString(), STEP_TYPES, start.getTime() / 1000, DAYS * 86_400]);
      progress(`seeded ${hi + 1} / ${n} events (${Math.round((hi + 1) / ((Date.now() - t0) / 1000))} rows/s)`);
    }
    const t1 = Date.now();
    for (const d of defs) {
      await db.query(d.kind === 'constraint' ? `ALTER TABLE events ADD CONSTRAINT ${d.name} ${d.def}` : d.def);
      progress(`rebuilt ${d.name}`);
    }
    progress(`indexes rebuilt in ${Math.round((Date.now() - t1) / 1000)} s`);
    // VACUUM as autovacuum would have long ago in a real store: without it the
    // first read of each page writes hint bits, and the figures time the disk.
    await db.query('VACUUM (ANALYZE) events');
    progress('vacuumed and analyzed');
    return { events: n, runs: Math.ceil(n / RUN_LENGTH), workflows, end, start };
  } finally {
    db.release();
  }
}

/** Deterministic pseudo-random integers, so two runs query the same samples. */
export function sampler(seed = 42): (below: number) => number {
  let s = seed >>> 0;
  return (below) => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

/** A run that exists in full (not cut off by the end of the history). */
export function randomRun(h: SeededHistory, draw: (below: number) => number): number {
  const complete = Math.floor(h.events / BLOCK) * IN_FLIGHT;
  return draw(Math.max(1, complete));
}

/** A run with events in the last hour, drawn by activity (as an incident responder would land on one). */
export function recentRun(h: SeededHistory, draw: (below: number) => number): number {
  const lastHour = Math.max(1, Math.floor(h.events / (DAYS * 24)));
  return ids.runOf(h.events - 1 - draw(lastHour));
}
