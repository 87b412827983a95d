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

const ENVELOPE_KEYS = new Set(Object.keys(EventEnvelopeSchema.shape));
/** Date.prototype.toISOString's shape, which every Steward writer produces; anything else goes through zod. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DIGITS = /^\d+$/;
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;

/**
 * The envelope consumers see on every message, checked without zod: the
 * same rules as EventEnvelopeSchema, written out for the shapes Steward's
 * own writers produce (the time as toISOString gives it, no unknown keys).
 * Returns the value when it certainly passes the schema, undefined when the
 * schema must decide (and name what is wrong). A busy consumer validates
 * thousands of envelopes a second; zod costs several times this.
 */
export function acceptEnvelope(value: unknown): EventEnvelope | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  for (const k in e) if (!ENVELOPE_KEYS.has(k)) return undefined;
  const ok =
    e.specversion === '1.0' &&
    typeof e.id === 'string' &&
    isUuidV7(e.id) &&
    nonEmpty(e.source) &&
    typeof e.type === 'string' &&
    EVENT_TYPE.test(e.type) &&
    typeof e.time === 'string' &&
    ISO_UTC.test(e.time) &&
    realInstant(e.time) &&
    e.datacontenttype === 'application/json' &&
    Number.isSafeInteger(e.dataschemaversion) &&
    (e.dataschemaversion as number) > 0 &&
    nonEmpty(e.streamid) &&
    Number.isSafeInteger(e.streamversion) &&
    (e.streamversion as number) >= 0 &&
    (e.globalposition === undefined || (typeof e.globalposition === 'string' && DIGITS.test(e.globalposition))) &&
    (e.transactionid === undefined || (typeof e.transactionid === 'string' && DIGITS.test(e.transactionid))) &&
    nonEmpty(e.correlationid) &&
    (e.causationid === undefined || nonEmpty(e.causationid)) &&
    (e.traceparent === undefined || (typeof e.traceparent === 'string' && TRACEPARENT.test(e.traceparent))) &&
    optionalString(e.actor) &&
    optionalString(e.workflowid) &&
    optionalString(e.runid) &&
    'data' in e;
  return ok ? (e as EventEnvelope) : undefined;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const num = (s: string, from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
};

/** The fields of a string ISO_UTC matched are in range: month, day of that month (leap years too), hour, minute, second. */
function realInstant(iso: string): boolean {
  const year = num(iso, 0, 4);
  const month = num(iso, 5, 7);
  const day = num(iso, 8, 10);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month - 1]!;
  return day <= days && num(iso, 11, 13) < 24 && num(iso, 14, 16) < 60 && num(iso, 17, 19) < 60;
}

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
