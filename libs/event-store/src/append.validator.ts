import {
  EVENT_TYPE,
  EventMetadataSchema,
  ValidationError,
  isUuidV7,
  issuesOf,
  uuidv7,
  type EventMetadata,
  type EventRegistry,
  type NewEvent,
} from '@steward/contracts';

export type ExpectedVersion = 'no_stream' | 'exists' | 'any' | number;

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const MAX_STREAM_ID_LENGTH = 200;

export interface ValidationOptions {
  registry?: EventRegistry;
  maxPayloadBytes: number;
  source?: string;
}

/** One event ready for the database: ids minted, payload validated and serialized once. */
export interface PreparedEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  dataJson: string;
  metadataJson: string;
}

export function validateStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new ValidationError(`stream id must be 1..${MAX_STREAM_ID_LENGTH} characters`, [
      { path: 'streamId', message: `expected 1..${MAX_STREAM_ID_LENGTH} characters` },
    ]);
  }
}

export function validateExpected(expected: unknown): asserts expected is ExpectedVersion {
  const ok =
    expected === 'no_stream' ||
    expected === 'exists' ||
    expected === 'any' ||
    (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0 && expected <= 2 ** 31 - 1);
  if (!ok) {
    throw new ValidationError(`invalid expected version ${String(expected)}`, [
      { path: 'expected', message: "expected 'no_stream', 'exists', 'any' or a version >= 0" },
    ]);
  }
}

/**
 * Checks a whole batch before the database sees any of it, so a bad event
 * anywhere rejects the append without writing. Issue paths are relative to
 * the event (`data.amount`, `metadata.traceparent`), as the registry reports
 * them; the message and context carry the event's index in the batch.
 */
export function prepareEvents(streamId: string, events: readonly NewEvent[], options: ValidationOptions): PreparedEvent[] {
  if (!Array.isArray(events)) {
    throw new ValidationError('events must be an array', [{ path: 'events', message: 'expected an array' }]);
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    const prepared = prepareOne(streamId, event, index, options);
    if (seen.has(prepared.eventId)) throw invalid(streamId, index, 'id', `duplicate event id ${prepared.eventId} in batch`);
    seen.add(prepared.eventId);
    return prepared;
  });
}

function prepareOne(streamId: string, event: NewEvent, index: number, options: ValidationOptions): PreparedEvent {
  if (event === null || typeof event !== 'object') throw invalid(streamId, index, '(root)', 'expected an event object');
  const eventId = event.id ?? uuidv7();
  if (typeof eventId !== 'string' || !isUuidV7(eventId)) throw invalid(streamId, index, 'id', 'expected a UUIDv7');
  if (typeof event.type !== 'string' || (!options.registry && !EVENT_TYPE.test(event.type))) {
    throw invalid(streamId, index, 'type', 'expected <category>.<name> in snake_case');
  }

  let data = event.data;
  let schemaVersion = event.schemaVersion ?? 1;
  if (options.registry) {
    // Unknown types surface as the registry's UnknownEventTypeError untouched.
    const current = options.registry.get(event.type).version;
    if (event.schemaVersion !== undefined && event.schemaVersion !== current) {
      throw invalid(streamId, index, 'schemaVersion', `${event.type} is written at version ${current}`);
    }
    try {
      ({ data, version: schemaVersion } = options.registry.validate(event.type, event.data));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new ValidationError(`events[${index}]: ${err.message}`, err.issues, { ...err.context, streamId, index });
    }
  } else if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw invalid(streamId, index, 'schemaVersion', 'expected a positive integer');
  }

  const parsedMetadata = EventMetadataSchema.safeParse(event.metadata ?? {});
  if (!parsedMetadata.success) {
    throw new ValidationError(`events[${index}]: invalid metadata`, issuesOf(parsedMetadata.error, 'metadata'), {
      streamId,
      index,
    });
  }
  // A root event starts its own correlation: storing it makes a timeline by
  // correlation id include the event that began it (as toEnvelope reports).
  const metadata: EventMetadata = { ...parsedMetadata.data };
  metadata.correlationId ??= eventId;
  if (metadata.source === undefined && options.source !== undefined) metadata.source = options.source;

  const dataJson = serialize(streamId, index, 'data', data);
  const metadataJson = serialize(streamId, index, 'metadata', metadata);
  const size = Buffer.byteLength(dataJson) + Buffer.byteLength(metadataJson);
  if (size > options.maxPayloadBytes) {
    throw new ValidationError(
      `events[${index}].data + metadata is ${size} bytes, over the limit of ${options.maxPayloadBytes} bytes`,
      [{ path: 'data', message: `payload is ${size} bytes; the limit is ${options.maxPayloadBytes}` }],
      { streamId, index, size, limit: options.maxPayloadBytes },
    );
  }
  return { eventId, type: event.type, schemaVersion, data, metadata, dataJson, metadataJson };
}

function serialize(streamId: string, index: number, path: 'data' | 'metadata', value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw invalid(streamId, index, path, `not serializable as JSON: ${(err as Error).message}`);
  }
  if (json === undefined) throw invalid(streamId, index, path, 'expected a JSON value');
  // jsonb rejects NUL in strings; catching it here keeps "nothing written,
  // typed error" instead of a raw database error.
  if (json.includes('\\u0000')) throw invalid(streamId, index, path, 'strings must not contain \\u0000');
  return json;
}

function invalid(streamId: string, index: number, path: string, message: string): ValidationError {
  return new ValidationError(`events[${index}].${path}: ${message}`, [{ path, message }], { streamId, index });
}
