import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { acceptEnvelope, EventEnvelopeSchema, Headers, ValidationError, issuesOf, type EventEnvelope } from '@steward/contracts';

/** Anything that carries a NATS payload: a core Msg, a JsMsg, a StoredMsg. */
export interface Payload {
  data: Uint8Array;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Only what a reader needs before parsing the body: the dedupe id, the
 * causation id (the CommandBus matches outcomes on it) and the trace. The
 * type is the subject; everything else is in the envelope. Each header costs
 * the relay about a tenth of its publish rate (nats.js header encoding).
 */
export function envelopeHeaders(envelope: EventEnvelope): MsgHdrs {
  const h = natsHeaders();
  h.set(Headers.MsgId, envelope.id);
  if (envelope.causationid !== undefined) h.set(Headers.CausationId, envelope.causationid);
  if (envelope.traceparent !== undefined) h.set(Headers.Traceparent, envelope.traceparent);
  return h;
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a body as JSON; a broken body is a validation failure of the whole message. */
export function parseJson(msg: Payload, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(msg.data));
  } catch (err) {
    throw new ValidationError(`${what} is not valid JSON`, [
      { path: '(root)', message: err instanceof Error ? err.message : String(err) },
    ]);
  }
}

/** Parses and validates a CloudEvents envelope; the error names every field at fault. */
export function decodeEnvelope(msg: Payload): EventEnvelope {
  const value = parseJson(msg, 'event envelope');
  // The common case without zod; the schema decides (and explains) everything else.
  const accepted = acceptEnvelope(value);
  if (accepted !== undefined) return accepted;
  const parsed = EventEnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new ValidationError(`invalid event envelope: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return parsed.data;
}
