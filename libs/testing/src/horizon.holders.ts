import type { Pool } from 'pg';

/**
 * What holds this database's commit-safe horizon back, for a test that
 * waited for it in vain: every transaction still in progress in the
 * statement's snapshot, with what pg_stat_activity says of its backend
 * (database, type, state, age, query), and the horizon beside the cluster's
 * xmin. An xid with no backend is one that steward_commit_horizon() cannot
 * place, which it must keep in.
 */
export async function describeHorizonHolders(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ horizon: string; xmin: string; xid: string | null; pid: number | null; db: string | null; type: string | null; state: string | null; age: string | null; query: string | null }>(
    `WITH s AS (SELECT pg_current_snapshot() AS snap)
     SELECT steward_commit_horizon()::text AS horizon, pg_snapshot_xmin(s.snap)::text AS xmin, x.xid::text AS xid,
            a.pid, a.datname AS db, a.backend_type AS type, a.state,
            (now() - a.xact_start)::text AS age, left(a.query, 120) AS query
       FROM s LEFT JOIN LATERAL pg_snapshot_xip(s.snap) AS x(xid) ON true
       LEFT JOIN pg_stat_activity a ON a.backend_xid::text = (x.xid::text::bigint % 4294967296)::text
      ORDER BY x.xid`,
  );
  const head = rows[0] ? `horizon ${rows[0].horizon}, cluster xmin ${rows[0].xmin}` : 'no snapshot';
  const lines = rows
    .filter((r) => r.xid !== null)
    .map((r) => (r.pid === null ? `  xid ${r.xid}: no backend shows it` : `  xid ${r.xid}: pid ${r.pid} ${r.type} in ${r.db ?? '-'}, ${r.state}, open ${r.age}: ${r.query}`));
  return [head, ...(lines.length > 0 ? lines : ['  nothing in progress'])].join('\n');
}
