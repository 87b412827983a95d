import type { Pool, QueryResult } from 'pg';
import { ConcurrencyError, ValidationError, type EventRegistry, type NewEvent, type StoredEvent } from '@steward/contracts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  prepareEvents,
  validateExpected,
  validateStreamId,
  type ExpectedVersion,
  type PreparedEvent,
} from './append.validator';
import { START, cursorOf, type Cursor } from './cursor.model';
import { COMMIT_SAFE, buildQuery, pageLimit, type EventFilter, type Page } from './event.query';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './event-row.mapper';
import { mapAppendError } from './postgres-error.mapper';
import type { Queryable } from './pool.factory';
import { PendingAppends } from './pending.appends';

export interface AppendResult {
  streamId: string;
  /** The stream's version after this append: pass it as `expected` next time. */
  nextExpectedVersion: number;
  /** The rows as inserted, with positions, ids and occurredAt. */
  events: StoredEvent[];
}

export interface AppendOptions {
  expected: ExpectedVersion;
  /** Append inside the caller's transaction instead of on its own. */
  tx?: Queryable;
}

export interface EventStoreOptions {
  /** When given, every appended type must be registered and its data valid. */
  registry?: EventRegistry;
  /** Limit on serialized data + metadata per event; default 1 MiB. */
  maxPayloadBytes?: number;
  /** metadata.source for events that do not name one. */
  source?: string;
}

interface AppendRow {
  first_version: number;
  global_positions: string[];
  transaction_id: string;
  occurred_at: Date;
}

/** What tryAppend came to: the append, or the stream's version when it was not the expected one. */
export type TryAppendResult = ({ conflict: false } & AppendResult) | { conflict: true; actual: number | null };

// Named statements: each connection parses and plans them once.
const APPEND = {
  name: 'steward_append_events',
  text: 'SELECT first_version, global_positions, transaction_id, occurred_at FROM append_events($1, $2, $3)',
};
const TRY_APPEND = {
  name: 'steward_try_append_events',
  text: 'SELECT first_version, global_positions, transaction_id, occurred_at, current_version FROM try_append_events($1, $2, $3)',
};
const READ_STREAM = {
  name: 'steward_read_stream',
  text: `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`,
};
const STREAM_VERSION = {
  name: 'steward_stream_version',
  text: 'SELECT max(stream_version) AS version FROM events WHERE stream_id = $1',
};
/** An event ready to publish: its envelope serialized, plus what headers and routing need. */
export interface EncodedEvent {
  id: string;
  type: string;
  transactionId: bigint;
  globalPosition: bigint;
  /** The CloudEvents envelope as JSON text. */
  envelope: string;
  causationId?: string;
  traceparent?: string;
  routingData?: unknown;
}

interface EncodedRow {
  transaction_id: string;
  global_position: string;
  id: string;
  type: string;
  causation_id: string | null;
  traceparent: string | null;
  routing_data: unknown;
  envelope: string;
}

const READ_ALL = {
  name: 'steward_read_all',
  text: `SELECT ${EVENT_COLUMNS} FROM events
    WHERE ${COMMIT_SAFE} AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
    ORDER BY transaction_id, global_position LIMIT $3`,
};
/**
 * The CloudEvents envelope of a stored event, built as text by Postgres: a
 * publisher gets bytes to send instead of parsing jsonb into objects and
 * stringifying them again (that round trip was most of the relay's own CPU).
 * Text concatenation, not jsonb_build_object: the payload's jsonb is printed
 * once and nothing is rebuilt. Same shape as toEnvelope in @steward/contracts;
 * absent extensions are left out. The relay and the ledger's replays publish
 * exactly these bytes.
 */
export const ENVELOPE_SQL = `'{"specversion":"1.0","id":"' || event_id || '","source":' || to_json(coalesce(metadata->>'source', 'steward'))::text
        || ',"type":' || to_json(type)::text
        || ',"time":"' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || '","datacontenttype":"application/json","dataschemaversion":' || schema_version
        || ',"streamid":' || to_json(stream_id)::text || ',"streamversion":' || stream_version
        || ',"globalposition":"' || global_position || '","transactionid":"' || transaction_id
        || '","correlationid":' || to_json(coalesce(correlation_id, event_id::text))::text
        || coalesce(',"causationid":' || to_json(causation_id)::text, '')
        || coalesce(',"traceparent":' || to_json(metadata->>'traceparent')::text, '')
        || coalesce(',"actor":' || to_json(metadata->>'actor')::text, '')
        || coalesce(',"workflowid":' || to_json(workflow_id)::text, '')
        || coalesce(',"runid":' || to_json(run_id)::text, '')
        || ',"data":' || data::text || '}'`;

const READ_ALL_ENCODED = {
  name: 'steward_read_all_encoded',
  text: `SELECT transaction_id, global_position, event_id::text AS id, type, causation_id,
      metadata->>'traceparent' AS traceparent,
      CASE WHEN type = ANY($4::text[]) THEN data END AS routing_data,
      ${ENVELOPE_SQL} AS envelope
    FROM events
    WHERE ${COMMIT_SAFE} AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
    ORDER BY transaction_id, global_position LIMIT $3`,
};

// One ordered scan of the (type, transaction_id, global_position) index per
// type, merged: bounded by types x limit rows whatever the planner believes
// about how rare a type is (a filter on the commit-order scan read 2 million
// rows to find 500 of a rare type at 10 million events).
const READ_ALL_TYPES = {
  name: 'steward_read_all_types',
  text: `SELECT e.* FROM (SELECT DISTINCT unnest($4::text[]) AS type) t
    CROSS JOIN LATERAL (
      SELECT ${EVENT_COLUMNS} FROM events
      WHERE events.type = t.type AND ${COMMIT_SAFE} AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
      ORDER BY transaction_id, global_position LIMIT $3
    ) e
    ORDER BY e.transaction_id, e.global_position LIMIT $3`,
};
const HEAD = {
  name: 'steward_head_position',
  text: `SELECT transaction_id, global_position FROM events WHERE ${COMMIT_SAFE}
    ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
};
// ORDER BY ... LIMIT 1, not EXISTS: Postgres drops the ordering inside
// EXISTS and, expecting a third of the table past any cursor, scans the heap
// from its start, which for a reader near the head (the usual caller) reads
// the whole table before the first match. The ordered LIMIT 1 is one probe of
// the commit-order index whatever the table's size.
export const COMMITTED_AFTER = {
  name: 'steward_committed_after_ordered',
  text: 'SELECT true AS found FROM events WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) ORDER BY transaction_id, global_position LIMIT 1',
};
const CAUSATION_CHAIN = `
  WITH RECURSIVE chain(event_id) AS (
    SELECT event_id FROM events WHERE event_id = $1::uuid
    UNION
    SELECT e.event_id FROM events e JOIN chain c ON e.causation_id = c.event_id::text
  )
  SELECT ${EVENT_COLUMNS} FROM events WHERE event_id IN (SELECT event_id FROM chain)
  ORDER BY transaction_id, global_position`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The append-only event log in Postgres: optimistic concurrency per stream,
 * and readers that page in commit-safe (transaction_id, global_position) order.
 */
export class EventStore {
  readonly registry?: EventRegistry;
  private readonly maxPayloadBytes: number;
  private readonly source?: string;

  constructor(
    private readonly pool: Pool,
    options: EventStoreOptions = {},
  ) {
    this.registry = options.registry;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.source = options.source;
  }

  /**
   * Validates the batch, then appends it in one round trip: append_events
   * checks the expected version, then inserts the batch with one INSERT ...
   * SELECT FROM jsonb_to_recordset. A rejected append writes nothing.
   */
  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const { expected, prepared, db } = this.prepare(streamId, events, options);
    if (prepared.length === 0) return this.checkOnly(streamId, expected, db);

    let result: QueryResult<AppendRow>;
    try {
      result = await db.query<AppendRow>({ ...APPEND, values: [streamId, String(expected), batchJson(prepared)] });
    } catch (err) {
      // The caller's transaction is aborted by now; ask the pool instead.
      throw await mapAppendError(err, streamId, expected, () => this.streamVersion(streamId));
    }
    return toAppendResult(streamId, prepared, result.rows[0]!);
  }

  /**
   * A holder for appends a batch of messages decides in one transaction,
   * written in one statement before it commits (see PendingAppends); the
   * events are validated as they are added, as append validates them.
   */
  pendingAppends(): PendingAppends {
    return new PendingAppends((streamId, events) => this.validated(streamId, events));
  }

  private validated(streamId: string, events: NewEvent[]): PreparedEvent[] {
    validateStreamId(streamId);
    return prepareEvents(streamId, events, { registry: this.registry, maxPayloadBytes: this.maxPayloadBytes, source: this.source });
  }

  /** Everything is validated before the database is touched. */
  private prepare(streamId: string, events: NewEvent[], options: AppendOptions) {
    const expected = options?.expected;
    validateStreamId(streamId);
    validateExpected(expected);
    return { expected, prepared: this.validated(streamId, events), db: options.tx ?? this.pool };
  }

  /**
   * append for a writer inside a larger transaction: a stale expected version
   * is reported, not raised, so the transaction stays usable without a
   * savepoint (try_append_events orders the stream's writers with a lock).
   * Other failures raise as in append.
   */
  async tryAppend(streamId: string, events: NewEvent[], options: AppendOptions): Promise<TryAppendResult> {
    const { expected, prepared, db } = this.prepare(streamId, events, options);
    if (prepared.length === 0) {
      try {
        return { conflict: false, ...(await this.checkOnly(streamId, expected, db)) };
      } catch (err) {
        if (err instanceof ConcurrencyError) return { conflict: true, actual: await this.streamVersion(streamId, db) };
        throw err;
      }
    }
    let result: QueryResult<AppendRow & { current_version: number | null }>;
    try {
      result = await db.query<AppendRow & { current_version: number | null }>({ ...TRY_APPEND, values: [streamId, String(expected), batchJson(prepared)] });
    } catch (err) {
      throw await mapAppendError(err, streamId, expected, () => this.streamVersion(streamId));
    }
    const row = result.rows[0]!;
    if (row.first_version === null) return { conflict: true, actual: row.current_version };
    return { conflict: false, ...toAppendResult(streamId, prepared, row) };
  }

  async readStream(streamId: string, options: { fromVersion?: number; tx?: Queryable } = {}): Promise<StoredEvent[]> {
    const fromVersion = options.fromVersion ?? 1;
    if (!Number.isInteger(fromVersion) || fromVersion < 1) {
      throw new ValidationError('fromVersion must be a positive integer', [{ path: 'fromVersion', message: 'expected >= 1' }]);
    }
    const db = options.tx ?? this.pool;
    const { rows } = await db.query<EventRow>({ ...READ_STREAM, values: [streamId, fromVersion] });
    return rows.map(toStoredEvent);
  }

  /** The stream's current version, or null when it has no events. */
  async streamVersion(streamId: string, tx?: Queryable): Promise<number | null> {
    const { rows } = await (tx ?? this.pool).query<{ version: number | null }>({ ...STREAM_VERSION, values: [streamId] });
    return rows[0]?.version ?? null;
  }

  /**
   * The next page after `after` in commit-safe order, in ONE statement:
   * WHERE transaction_id < steward_commit_horizon() AND
   * (transaction_id, global_position) > cursor ORDER BY 1, 2 LIMIT n.
   * The returned cursor is the last event's, or `after` when there is none.
   */
  async readAll(after: Cursor, options: { limit?: number; types?: string[] } = {}): Promise<{ events: StoredEvent[]; cursor: Cursor }> {
    const limit = pageLimit(options.limit);
    const base = [after.transactionId.toString(), after.globalPosition.toString(), limit];
    const { rows } = await this.pool.query<EventRow>(
      options.types ? { ...READ_ALL_TYPES, values: [...base, options.types] } : { ...READ_ALL, values: base },
    );
    const events = rows.map(toStoredEvent);
    const last = events.at(-1);
    return { events, cursor: last ? cursorOf(last) : cursorOf(after) };
  }

  /**
   * readAll for publishers: each event as its serialized CloudEvents envelope.
   * `routedTypes` are the types whose data the caller needs to compute a route
   * (the subject's last token); only those carry `routingData`.
   */
  async readAllEncoded(after: Cursor, options: { limit?: number; routedTypes?: readonly string[] } = {}): Promise<{ events: EncodedEvent[]; cursor: Cursor }> {
    const limit = pageLimit(options.limit);
    const { rows } = await this.pool.query<EncodedRow>({
      ...READ_ALL_ENCODED,
      values: [after.transactionId.toString(), after.globalPosition.toString(), limit, options.routedTypes ?? []],
    });
    const events = rows.map(
      (r): EncodedEvent => ({
        id: r.id,
        type: r.type,
        transactionId: BigInt(r.transaction_id),
        globalPosition: BigInt(r.global_position),
        envelope: r.envelope,
        ...(r.causation_id !== null && { causationId: r.causation_id }),
        ...(r.traceparent !== null && { traceparent: r.traceparent }),
        ...(r.routing_data !== null && { routingData: r.routing_data }),
      }),
    );
    const last = events.at(-1);
    return { events, cursor: last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : cursorOf(after) };
  }

  /** A filtered page (timelines, replays) in the same commit-safe order; `next` is set when more may follow. */
  async query(filter: EventFilter, page: Page = {}): Promise<{ events: StoredEvent[]; next?: Cursor }> {
    const limit = pageLimit(page.limit);
    const { text, values } = buildQuery(filter, page.after ?? START, limit);
    const { rows } = await this.pool.query<EventRow>(text, values);
    const events = rows.slice(0, limit).map(toStoredEvent);
    const last = events.at(-1);
    return rows.length > limit && last ? { events, next: cursorOf(last) } : { events };
  }

  /** The event and everything it caused, transitively, in commit order. Empty when the event does not exist. */
  async causationChain(eventId: string): Promise<StoredEvent[]> {
    if (!UUID.test(eventId)) {
      throw new ValidationError(`invalid event id ${eventId}`, [{ path: 'eventId', message: 'expected a UUID' }]);
    }
    const { rows } = await this.pool.query<EventRow>(CAUSATION_CHAIN, [eventId.toLowerCase()]);
    return rows.map(toStoredEvent);
  }

  /**
   * Whether events past `after` have committed, readable by readAll or not.
   * When readAll came back empty but this is true, an older transaction
   * (anywhere on the server: snapshots are cluster-wide) still holds them
   * back, and its end will not notify: poll again shortly instead of sleeping.
   */
  async committedAfter(after: Cursor): Promise<boolean> {
    const { rows } = await this.pool.query<{ found: boolean }>({
      ...COMMITTED_AFTER,
      values: [after.transactionId.toString(), after.globalPosition.toString()],
    });
    return rows[0]?.found === true;
  }

  /** The newest commit-safe position: what a reader that is fully caught up would hold. */
  async headPosition(): Promise<Cursor> {
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(HEAD);
    const row = rows[0];
    return row ? { transactionId: BigInt(row.transaction_id), globalPosition: BigInt(row.global_position) } : { ...START };
  }

  private async checkOnly(streamId: string, expected: ExpectedVersion, db: Queryable): Promise<AppendResult> {
    const actual = await this.streamVersion(streamId, db);
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && actual === null) ||
      (expected === 'exists' && actual !== null) ||
      (typeof expected === 'number' && (actual ?? 0) === expected);
    if (!ok) throw new ConcurrencyError(streamId, String(expected), actual);
    return { streamId, nextExpectedVersion: actual ?? 0, events: [] };
  }
}

// Concatenates the payloads serialized during validation instead of
// serializing them again; ids and types passed validation, so they need no
// escaping beyond what JSON.stringify gives the type.
function batchJson(prepared: PreparedEvent[]): string {
  return `[${prepared
    .map((e) => `{"id":"${e.eventId}","type":${JSON.stringify(e.type)},"v":${e.schemaVersion},"data":${e.dataJson},"metadata":${e.metadataJson}}`)
    .join(',')}]`;
}

function toAppendResult(streamId: string, prepared: PreparedEvent[], row: AppendRow): AppendResult {
  const transactionId = BigInt(row.transaction_id);
  const events = prepared.map(
    (e, i): StoredEvent => ({
      globalPosition: BigInt(row.global_positions[i]!),
      transactionId,
      streamId,
      streamVersion: row.first_version + i,
      eventId: e.eventId,
      type: e.type,
      schemaVersion: e.schemaVersion,
      data: e.data,
      metadata: e.metadata,
      occurredAt: row.occurred_at,
    }),
  );
  return { streamId, nextExpectedVersion: row.first_version + prepared.length - 1, events };
}
