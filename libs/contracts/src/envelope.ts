import { z } from 'zod';
import { isUuidV7 } from './uuid';

/** W3C trace context `traceparent` header value. */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** `<category>.<name>`, both snake_case: `run.started`, `collection.raw_captured`. */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

const uuid7 = z.string().refine(isUuidV7, { message: 'expected a UUIDv7' });

/**
 * What travels with an event besides its payload. Stored in the `metadata`
 * column; on the wire these become CloudEvents extension attributes.
 */
export const EventMetadataSchema = z
  .object({
    source: z.string().min(1).max(200).optional(),
    correlationId: z.string().min(1).max(200).optional(),
    causationId: z.string().min(1).max(200).optional(),
    traceparent: z.string().regex(TRACEPARENT, 'expected a W3C traceparent').optional(),
    actor: z.string().min(1).max(200).optional(),
    workflowId: z.string().min(1).max(200).optional(),
    runId: z.string().min(1).max(200).optional(),
  })
  .catchall(z.unknown());
export type EventMetadata = z.infer<typeof EventMetadataSchema>;

/**
 * CloudEvents 1.0 (structured JSON mode) with Steward's extension attributes.
 * Extension names are lowercase alphanumerics, as the spec requires.
 */
export const EventEnvelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: uuid7,
  source: z.string().min(1),
  type: z.string().regex(EVENT_TYPE, 'expected <category>.<name> in snake_case'),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  dataschemaversion: z.number().int().positive(),
  streamid: z.string().min(1),
  streamversion: z.number().int().nonnegative(),
  globalposition: z.string().regex(/^\d+$/).optional(),
  /** With globalposition: the store's commit-safe cursor, so a relay can resume from the stream's tail. */
  transactionid: z.string().regex(/^\d+$/).optional(),
  correlationid: z.string().min(1),
  causationid: z.string().min(1).optional(),
  traceparent: z.string().regex(TRACEPARENT).optional(),
  actor: z.string().optional(),
  workflowid: z.string().optional(),
  runid: z.string().optional(),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;

/** An event as it is read back from the store. */
export interface StoredEvent<D = unknown> {
  globalPosition: bigint;
  transactionId: bigint;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: D;
  metadata: EventMetadata;
  occurredAt: Date;
}

/** An event a writer wants to append. Ids are UUIDv7, minted by the caller or the store. */
export interface NewEvent<D = unknown> {
  type: string;
  data: D;
  id?: string;
  schemaVersion?: number;
  metadata?: EventMetadata;
}

export function toEnvelope(e: StoredEvent): EventEnvelope {
  const m = e.metadata;
  return {
    specversion: '1.0',
    id: e.eventId,
    source: m.source ?? 'steward',
    type: e.type,
    time: e.occurredAt.toISOString(),
    datacontenttype: 'application/json',
    dataschemaversion: e.schemaVersion,
    streamid: e.streamId,
    streamversion: e.streamVersion,
    globalposition: e.globalPosition.toString(),
    transactionid: e.transactionId.toString(),
    correlationid: m.correlationId ?? e.eventId,
    ...(m.causationId !== undefined && { causationid: m.causationId }),
    ...(m.traceparent !== undefined && { traceparent: m.traceparent }),
    ...(m.actor !== undefined && { actor: m.actor }),
    ...(m.workflowId !== undefined && { workflowid: m.workflowId }),
    ...(m.runId !== undefined && { runid: m.runId }),
    data: e.data,
  };
}

/** The metadata an event caused by `cause` inherits: same correlation and trace, causation = cause. */
export function causedBy(
  cause: Pick<EventEnvelope, 'id' | 'correlationid' | 'traceparent' | 'workflowid' | 'runid'>,
  extra: EventMetadata = {},
): EventMetadata {
  return {
    correlationId: cause.correlationid,
    causationId: cause.id,
    ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
    ...(cause.workflowid !== undefined && { workflowId: cause.workflowid }),
    ...(cause.runid !== undefined && { runId: cause.runid }),
    ...extra,
  };
}
