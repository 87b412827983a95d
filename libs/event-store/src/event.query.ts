import { ValidationError } from '@steward/contracts';
import { EVENT_COLUMNS } from './event-row.mapper';
import type { Cursor } from './cursor.model';

export interface EventFilter {
  correlationId?: string;
  causationId?: string;
  workflowId?: string;
  runId?: string;
  streamId?: string;
  types?: string[];
  /** Inclusive lower bound on occurred_at. */
  from?: Date;
  /** Exclusive upper bound on occurred_at. */
  to?: Date;
}

export interface Page {
  after?: Cursor;
  limit?: number;
}

export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 10_000;

/**
 * The commit-safe predicate every reader shares: only transactions older than
 * the oldest one still running in this database, so nothing can later appear
 * before the cursor (steward_commit_horizon, migration 6: a transaction open
 * in another database on the server does not hold readers here back). It must
 * sit in the same statement as the read (one snapshot for both).
 */
export const COMMIT_SAFE = 'transaction_id < (SELECT steward_commit_horizon())';

export function pageLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new ValidationError(`limit must be 1..${MAX_LIMIT}`, [{ path: 'limit', message: `expected 1..${MAX_LIMIT}` }]);
  }
  return n;
}

const COLUMN_OF = {
  correlationId: 'correlation_id',
  causationId: 'causation_id',
  workflowId: 'workflow_id',
  runId: 'run_id',
  streamId: 'stream_id',
} as const;

/**
 * One statement for a filtered page in commit-safe order. Fetches limit + 1
 * rows so the caller knows whether another page exists without a count.
 */
export function buildQuery(filter: EventFilter, after: Cursor, limit: number): { text: string; values: unknown[] } {
  const values: unknown[] = [after.transactionId.toString(), after.globalPosition.toString()];
  const where = [COMMIT_SAFE, '(transaction_id, global_position) > ($1::xid8, $2::bigint)'];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  for (const key of Object.keys(COLUMN_OF) as (keyof typeof COLUMN_OF)[]) {
    const v = filter[key];
    if (v !== undefined) where.push(`${COLUMN_OF[key]} = ${param(v)}`);
  }
  // A single type as equality lets the planner walk (type, transaction_id,
  // global_position) in order; ANY() over that index needs a sort.
  if (filter.types?.length === 1) where.push(`type = ${param(filter.types[0])}`);
  else if (filter.types !== undefined) where.push(`type = ANY(${param(filter.types)}::text[])`);
  if (filter.from !== undefined) where.push(`occurred_at >= ${param(validDate(filter.from, 'from'))}`);
  if (filter.to !== undefined) where.push(`occurred_at < ${param(validDate(filter.to, 'to'))}`);
  const text = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}
    ORDER BY transaction_id, global_position LIMIT ${param(limit + 1)}`;
  return { text, values };
}

function validDate(d: Date, path: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new ValidationError(`${path} must be a valid date`, [{ path, message: 'expected a valid Date' }]);
  }
  return d;
}
