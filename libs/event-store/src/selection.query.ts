import { ValidationError } from '@steward/contracts';
import { START, type Cursor } from './cursor.model';
import { ENVELOPE_SQL, type EncodedEvent } from './event.store';
import { COMMIT_SAFE, pageLimit } from './event.query';
import type { Queryable } from './pool.factory';

/**
 * What a replay selects: event types, optionally narrowed by fields of the
 * payload (`data.source`, `data.workflowId`) and an occurred_at range, and
 * always bounded above by a frozen cursor so the selection is finite and the
 * same however long the replay takes.
 */
export interface EventSelection {
  types: readonly string[];
  /** `data->>'source'` equals this. */
  source?: string;
  /** `data->>'workflowId'` equals this. */
  workflowId?: string;
  /** Inclusive lower bound on the selection's time (occurred_at, or `timeField`). */
  from?: Date;
  /** Exclusive upper bound on the selection's time. */
  to?: Date;
  /**
   * A timestamp field of the payload that from/to apply to instead of
   * occurred_at, e.g. `capturedAt`: when the fact happened, not when it was stored.
   */
  timeField?: string;
}


interface EncodedRow {
  transaction_id: string;
  global_position: string;
  id: string;
  type: string;
  causation_id: string | null;
  traceparent: string | null;
  envelope: string;
}

/**
 * The newest commit-safe position, read as one statement: everything at or
 * before it is committed for good, and anything that commits later sorts
 * after it. A replay freezes this as its `upTo`.
 */
export async function commitSafeHead(db: Queryable): Promise<Cursor> {
  const { rows } = await db.query<{ transaction_id: string; global_position: string }>(
    `SELECT transaction_id, global_position FROM events WHERE ${COMMIT_SAFE}
      ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
  );
  const row = rows[0];
  return row ? { transactionId: BigInt(row.transaction_id), globalPosition: BigInt(row.global_position) } : { ...START };
}

/** How many stored events the selection covers up to `upTo` (inclusive; a cursor from commitSafeHead). */
export async function countSelection(db: Queryable, selection: EventSelection, upTo: Cursor): Promise<number> {
  const { where, values } = selectionWhere(selection, START, upTo);
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE ${where}`, values);
  return Number(rows[0]?.n ?? 0);
}

/**
 * One page of the selection after `after` and up to `upTo` (inclusive; a
 * cursor from commitSafeHead), in commit order, each event as its serialized envelope. `done` is true
 * when nothing of the selection remains after the returned cursor.
 */
export async function readSelectionEncoded(
  db: Queryable,
  selection: EventSelection,
  after: Cursor,
  upTo: Cursor,
  limit: number,
): Promise<{ events: EncodedEvent[]; cursor: Cursor; done: boolean }> {
  const n = pageLimit(limit);
  const { where, values } = selectionWhere(selection, after, upTo);
  values.push(n + 1);
  const { rows } = await db.query<EncodedRow>(
    `SELECT transaction_id, global_position, event_id::text AS id, type, causation_id,
        metadata->>'traceparent' AS traceparent, ${ENVELOPE_SQL} AS envelope  -- the relay's bytes: a replayed event is the relayed one, unchanged
      FROM events WHERE ${where}
      ORDER BY transaction_id, global_position LIMIT $${values.length}`,
    values,
  );
  const events = rows.slice(0, n).map(
    (r): EncodedEvent => ({
      id: r.id,
      type: r.type,
      transactionId: BigInt(r.transaction_id),
      globalPosition: BigInt(r.global_position),
      envelope: r.envelope,
      ...(r.causation_id !== null && { causationId: r.causation_id }),
      ...(r.traceparent !== null && { traceparent: r.traceparent }),
    }),
  );
  const last = events.at(-1);
  const cursor = last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : { ...after };
  return { events, cursor, done: rows.length <= n };
}

function selectionWhere(selection: EventSelection, after: Cursor, upTo: Cursor): { where: string; values: unknown[] } {
  if (selection.types.length === 0) {
    throw new ValidationError('a selection needs at least one event type', [{ path: 'types', message: 'expected at least one type' }]);
  }
  const values: unknown[] = [after.transactionId.toString(), after.globalPosition.toString(), upTo.transactionId.toString(), upTo.globalPosition.toString()];
  // No commit-safe predicate: `upTo` is a commit-safe head (commitSafeHead),
  // so every event at or before it is final. The horizon itself is not
  // monotonic (steward_commit_horizon keeps in a transaction of another
  // database that ended while it looked), and re-applying it here could hide
  // part of a frozen selection for a moment: a replay read an empty first
  // page and recorded itself published with nothing sent.
  const where = [
    '(transaction_id, global_position) > ($1::xid8, $2::bigint)',
    '(transaction_id, global_position) <= ($3::xid8, $4::bigint)',
  ];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  where.push(selection.types.length === 1 ? `type = ${param(selection.types[0])}` : `type = ANY(${param(selection.types)}::text[])`);
  if (selection.source !== undefined) where.push(`data->>'source' = ${param(selection.source)}`);
  if (selection.workflowId !== undefined) where.push(`data->>'workflowId' = ${param(selection.workflowId)}`);
  if (selection.from !== undefined || selection.to !== undefined) {
    const time = selection.timeField === undefined ? 'occurred_at' : `(data->>${param(validField(selection.timeField))})::timestamptz`;
    if (selection.from !== undefined) where.push(`${time} >= ${param(validDate(selection.from, 'from'))}`);
    if (selection.to !== undefined) where.push(`${time} < ${param(validDate(selection.to, 'to'))}`);
  }
  return { where: where.join(' AND '), values };
}

function validField(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new ValidationError(`timeField ${name} is not a field name`, [{ path: 'timeField', message: 'expected a payload field name' }]);
  }
  return name;
}

function validDate(d: Date, path: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new ValidationError(`${path} must be a valid date`, [{ path, message: 'expected a valid Date' }]);
  }
  return d;
}
