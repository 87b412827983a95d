import { Pool, types as pgTypes, type CustomTypesConfig } from 'pg';

/** A pg.Pool, or a pg.PoolClient inside a transaction the caller controls. */
export type Queryable = { query: Pool['query'] };

const INT8 = 20;
const NUMERIC = 1700;
const XID8 = 5069;

// Pinned per pool so a process-wide pg.types.setTypeParser elsewhere cannot
// turn positions into lossy JS numbers; readers convert them to bigint.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC || oid === XID8) return (value: string) => value;
    return pgTypes.getTypeParser(oid, format);
  },
} as CustomTypesConfig;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Postgres cancels any statement of this pool running longer (error 57014); unset: no limit. */
  statementTimeoutMs?: number;
}

export function createPool(databaseUrl: string, options: PoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'steward',
    ...(options.statementTimeoutMs !== undefined && { statement_timeout: options.statementTimeoutMs }),
    types,
  });
  // An idle client that loses its connection (Postgres restart, failover)
  // emits 'error' on the pool; unhandled, that would crash the process
  // although the pool already discards the client and reconnects on demand.
  pool.on('error', (err) => {
    process.emitWarning(`idle Postgres client failed: ${err.message}`, 'StewardPoolWarning');
  });
  return pool;
}

/** A pool, as opposed to a client inside a transaction. */
export function isPool(q: Queryable): q is Pool {
  return 'totalCount' in q && 'idleCount' in q;
}
