import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { EventEnvelopeSchema, Headers, ValidationError, issuesOf, type EventEnvelope, type EventRegistry, type Subjects } from '@steward/contracts';
import { encodeJson, envelopeHeaders } from './envelope.codec';
import { activeTraceparent } from './message.tracing';

export interface PublishEventOptions {
  timeoutMs?: number;
  /** Extra headers beyond the envelope's own (see envelopeHeaders). */
  headers?: Record<string, string>;
  /** The envelope was built from a stored event, which the store validated on append. */
  fromStore?: boolean;
}

/**
 * Publishes one event to `<ns.>steward.events.<type>[.<route>]`. Nats-Msg-Id
 * is the event id, so a relay that republishes after a crash is deduped by
 * the stream (`duplicate: true` in the ack) instead of delivering twice.
 * With a registry, the event's route (e.g. its task queue) becomes the last
 * subject token so one consumer needs one filter.
 */
export async function publishEvent(
  js: JetStreamClient,
  subjects: Subjects,
  envelope: EventEnvelope,
  registry?: EventRegistry,
  options: PublishEventOptions = {},
): Promise<PubAck> {
  // Refuse to put a poison message on the wire: every consumer would dead-letter it.
  if (!options.fromStore) {
    const checked = EventEnvelopeSchema.safeParse(envelope);
    if (!checked.success) {
      throw new ValidationError(`refusing to publish an invalid ${String(envelope?.type)} envelope`, issuesOf(checked.error));
    }
  }
  const route = registry?.routeOf(envelope.type, envelope.data);
  const headers = envelopeHeaders(envelope);
  // An envelope without trace context, published from inside a span: carry that span.
  const traceparent = envelope.traceparent === undefined ? activeTraceparent() : undefined;
  if (traceparent !== undefined) headers.set(Headers.Traceparent, traceparent);
  for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
  return js.publish(subjects.event(envelope.type, route), encodeJson(envelope), {
    msgID: envelope.id,
    headers,
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
  });
}

/** An event whose envelope is already serialized (the relay reads them so from the store). */
export interface EncodedEnvelope {
  id: string;
  type: string;
  /** The CloudEvents envelope as JSON text. */
  envelope: string;
  causationId?: string;
  traceparent?: string;
  /** Last subject token for routed types. */
  route?: string;
}

/**
 * Publishes a pre-serialized envelope with the same subject and headers as
 * `publishEvent`, without building or validating objects: the store already
 * validated the event when it was appended.
 */
export function publishEncoded(js: JetStreamClient, subjects: Subjects, e: EncodedEnvelope): Promise<PubAck> {
  // No header block at all when there is nothing but the id (msgID sets that one).
  if (e.causationId === undefined && e.traceparent === undefined) {
    return js.publish(subjects.event(e.type, e.route), e.envelope, { msgID: e.id });
  }
  const headers = natsHeaders();
  if (e.causationId !== undefined) headers.set(Headers.CausationId, e.causationId);
  if (e.traceparent !== undefined) headers.set(Headers.Traceparent, e.traceparent);
  return js.publish(subjects.event(e.type, e.route), e.envelope, { msgID: e.id, headers });
}
