import type { EventMetadata, StoredEvent } from '@steward/contracts';

export const EVENT_COLUMNS =
  'global_position, transaction_id, stream_id, stream_version, event_id, type, schema_version, data, metadata, occurred_at';

export interface EventRow {
  global_position: string | number | bigint;
  transaction_id: string | number | bigint;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  occurred_at: Date;
}

// BigInt() accepts the string pg gives for int8/xid8 and still works when a
// caller's pool parses int8 differently.
export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    globalPosition: BigInt(row.global_position),
    transactionId: BigInt(row.transaction_id),
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    occurredAt: row.occurred_at,
  };
}
