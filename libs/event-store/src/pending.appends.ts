import { ConcurrencyError, type NewEvent, type StoredEvent } from '@steward/contracts';
import type { PreparedEvent } from './append.validator';
import { isUniqueViolationOn, mapAppendError } from './postgres-error.mapper';
import type { Queryable } from './pool.factory';
import type { AppendResult } from './event.store';

/** Where a held-back append expects its stream: at this version, or not there yet. */
export type DeferredExpected = number | 'no_stream';

interface Held {
  streamId: string;
  prepared: PreparedEvent[];
  stored: StoredEvent[];
}

interface FlushRow {
  id: string;
  global_position: string;
  transaction_id: string;
  occurred_at: Date;
}

// One INSERT for every stream a batch appended to. The stream's version is
// the optimistic check: a row at an expected version + 1 that another writer
// already took (or version 1 of a stream that exists) is a unique violation
// on (stream_id, stream_version), which fails the statement, and with it the
// caller's transaction, as a stale expected version would.
const FLUSH = {
  name: 'steward_append_held',
  text: `INSERT INTO events AS e (stream_id, stream_version, event_id, type, schema_version, data, metadata)
    SELECT x.s, x.n, x.id, x.type, x.v, x.data, x.metadata
      FROM jsonb_to_recordset($1::jsonb) AS x(s text, n integer, id uuid, type text, v integer, data jsonb, metadata jsonb)
    RETURNING e.event_id::text AS id, e.global_position, e.transaction_id, e.occurred_at`,
};

/**
 * Appends of one transaction held back and written together, in ONE
 * statement, before it commits: a batch of messages (InboxBatcher) that
 * each append to a stream of their own pays one round trip for all of them
 * instead of one each.
 *
 * `add` validates at once (a bad event fails where it was decided) and
 * returns the events with their stream versions; their positions,
 * transaction id and time are filled in, on the same objects, by `flush`.
 * Nothing may read a stream with held events before they are flushed
 * (`touches` tells; `flush` may be called any number of times). A stream
 * that moved meanwhile makes `flush` throw a ConcurrencyError, which aborts
 * the transaction: the caller retries without holding (InboxBatcher retries
 * each message alone).
 */
export class PendingAppends {
  private held: Held[] = [];
  /** Stream -> its version after the held events: the streams `touches` answers for. */
  private readonly versions = new Map<string, number>();

  constructor(private readonly prepare: (streamId: string, events: NewEvent[]) => PreparedEvent[]) {}

  /** Events held and not yet written. */
  get size(): number {
    return this.held.reduce((n, h) => n + h.prepared.length, 0);
  }

  /** The stream has held events: flush before reading it. */
  touches(streamId: string): boolean {
    return this.versions.has(streamId);
  }

  add(streamId: string, events: NewEvent[], expected: DeferredExpected): AppendResult {
    const base = expected === 'no_stream' ? 0 : expected;
    // A second append to a held stream continues from the first, as it would in the database.
    const after = this.versions.get(streamId);
    if (after !== undefined && after !== base) throw new ConcurrencyError(streamId, String(expected), after);
    const prepared = this.prepare(streamId, events);
    const stored = prepared.map(
      (e, i): StoredEvent => ({
        globalPosition: 0n,
        transactionId: 0n,
        streamId,
        streamVersion: base + i + 1,
        eventId: e.eventId,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
        occurredAt: new Date(),
      }),
    );
    if (prepared.length > 0) {
      this.held.push({ streamId, prepared, stored });
      this.versions.set(streamId, base + prepared.length);
    }
    return { streamId, nextExpectedVersion: base + prepared.length, events: stored };
  }

  /** Writes what is held (nothing when empty) and fills in the positions of the events `add` returned. */
  async flush(tx: Queryable): Promise<void> {
    if (this.held.length === 0) return;
    // Stream order, stable within a stream: two transactions holding the same streams take their index locks in one order.
    const held = [...this.held].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
    this.held = [];
    this.versions.clear();
    const json = `[${held
      .flatMap((h) =>
        h.prepared.map(
          (e, i) =>
            `{"s":${JSON.stringify(h.streamId)},"n":${h.stored[i]!.streamVersion},"id":"${e.eventId}","type":${JSON.stringify(e.type)},"v":${e.schemaVersion},"data":${e.dataJson},"metadata":${e.metadataJson}}`,
        ),
      )
      .join(',')}]`;
    let rows: FlushRow[];
    try {
      ({ rows } = await tx.query<FlushRow>({ ...FLUSH, values: [json] }));
    } catch (err) {
      throw await flushError(err, held);
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const e of held.flatMap((h) => h.stored)) {
      const row = byId.get(e.eventId);
      if (row === undefined) continue;
      e.globalPosition = BigInt(row.global_position);
      e.transactionId = BigInt(row.transaction_id);
      e.occurredAt = row.occurred_at;
    }
  }
}

/** The stream a unique violation names, as the ConcurrencyError of a stale expected version. */
async function flushError(err: unknown, held: Held[]): Promise<unknown> {
  if (!isUniqueViolationOn(err, 'events_stream_version_key')) return mapAppendError(err, held[0]!.streamId, 'any', () => Promise.resolve(null));
  const detail = (err as { detail?: string }).detail ?? '';
  // Key (stream_id, stream_version)=(run-..., 5) already exists.
  const match = /=\((.+), (\d+)\) already exists/.exec(detail);
  const streamId = match?.[1] ?? held[0]!.streamId;
  const version = match ? Number(match[2]) : null;
  const first = held.find((h) => h.streamId === streamId)?.stored[0]?.streamVersion;
  const expected = first === undefined ? 'any' : first === 1 ? 'no_stream' : String(first - 1);
  return new ConcurrencyError(streamId, expected, version);
}
