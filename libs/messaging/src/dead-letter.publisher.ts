import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { Headers, type Subjects } from '@steward/contracts';
import { serializeError } from './json.logger';

/** Why a message left its consumer for the dead-letter stream. */
export type DeadLetterReason =
  | 'invalid_envelope' // body is not JSON or not a valid event/command envelope
  | 'unknown_type' // event type not in this service's registry
  | 'schema_invalid' // payload fails its schema after upcasting
  | 'unknown_command' // a command for this service that no handler takes
  | 'permanent_error' // handler threw a validation / illegal-state error: retrying cannot help
  | 'max_deliver_exhausted'; // transient failures on every allowed delivery

/** Not in the contracts' Headers: the last error, JSON on one line. */
export const DLQ_ERROR_HEADER = 'Steward-Dlq-Error';
const MAX_ERROR_HEADER = 2_000;

/** The parts of a JetStream message a dead letter keeps. */
export interface DeadLetterSource {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs | undefined;
  stream: string;
  streamSequence: number;
  deliveryCount: number;
}

/** Single-valued headers as strings, repeated ones as arrays. */
export function headersToJson(h: MsgHdrs | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!h) return out;
  for (const key of h.keys()) {
    const values = h.values(key);
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

function errorHeader(err: unknown): string {
  const base = serializeError(err);
  const issues = (err as { issues?: unknown })?.issues;
  const json = JSON.stringify(typeof base === 'string' ? { message: base } : { ...base, ...(issues !== undefined && { issues }) });
  return json.length > MAX_ERROR_HEADER ? `${json.slice(0, MAX_ERROR_HEADER - 3)}...` : json;
}

/**
 * Copies the original bytes to `<ns.>steward.dlq.<consumer>`. Nats-Msg-Id is
 * `<stream>:<stream_seq>`: if we crash after publishing but before term(),
 * the redelivered message dead-letters again and the stream drops the copy.
 */
export function publishDeadLetter(
  js: JetStreamClient,
  subjects: Subjects,
  source: DeadLetterSource,
  consumer: string,
  reason: DeadLetterReason,
  error?: unknown,
): Promise<PubAck> {
  const h = natsHeaders();
  h.set(Headers.DlqReason, reason);
  h.set(Headers.DlqConsumer, consumer);
  h.set(Headers.DlqSubject, source.subject);
  h.set(Headers.DlqStream, source.stream);
  h.set(Headers.DlqStreamSeq, String(source.streamSequence));
  h.set(Headers.DlqDeliveries, String(source.deliveryCount));
  h.set(Headers.DlqOriginalHeaders, JSON.stringify(headersToJson(source.headers)));
  if (error !== undefined) h.set(DLQ_ERROR_HEADER, errorHeader(error));
  return js.publish(subjects.dlq(consumer), source.data, {
    msgID: `${source.stream}:${source.streamSequence}`,
    headers: h,
  });
}

export interface DeadLetter {
  reason: string;
  consumer: string;
  subject: string;
  stream: string;
  streamSequence: number;
  deliveries: number;
  originalHeaders: Record<string, string | string[]>;
  error?: unknown;
  data: Uint8Array;
}

/** Reads a message of the DLQ stream back (for `steward dlq list|requeue`). */
export function parseDeadLetter(msg: { data: Uint8Array; headers?: MsgHdrs | undefined }): DeadLetter {
  const h = msg.headers;
  const get = (k: string) => (h?.has(k) ? h.get(k) : '');
  const parse = (s: string): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  };
  const err = get(DLQ_ERROR_HEADER);
  return {
    reason: get(Headers.DlqReason),
    consumer: get(Headers.DlqConsumer),
    subject: get(Headers.DlqSubject),
    stream: get(Headers.DlqStream),
    streamSequence: Number(get(Headers.DlqStreamSeq)),
    deliveries: Number(get(Headers.DlqDeliveries)),
    originalHeaders: (parse(get(Headers.DlqOriginalHeaders) || '{}') ?? {}) as Record<string, string | string[]>,
    ...(err !== '' && { error: parse(err) }),
    data: msg.data,
  };
}
