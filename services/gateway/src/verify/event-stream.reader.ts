import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { Headers } from '@steward/contracts';
import type { StreamItem } from './publish-consistency';

export type StreamStart = { kind: 'all' } | { kind: 'seq'; seq: number } | { kind: 'time'; time: Date };

export interface StreamState {
  firstSeq: number;
  lastSeq: number;
  messages: number;
}

const BATCH = 1000;
const FETCH_EXPIRES_MS = 1000;
const decoder = new TextDecoder();

/**
 * Reads the EVENTS stream in sequence order with an ordered consumer (an
 * ephemeral pull consumer the client recreates on gaps), so verify never
 * leaves a durable behind and needs nothing NATS 2.9 lacks.
 */
export class EventStreamReader {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
  ) {}

  async state(): Promise<StreamState | undefined> {
    try {
      const { state } = await this.jsm.streams.info(this.stream);
      return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
  }

  /** The first message at or after `start`, if any. */
  async first(start: StreamStart): Promise<StreamItem | undefined> {
    const consumer = await this.js.consumers.get(this.stream, options(start));
    const batch = await consumer.fetch({ max_messages: 1, expires: FETCH_EXPIRES_MS });
    let found: StreamItem | undefined;
    for await (const m of batch) found ??= toItem(m);
    await consumer.delete().catch(() => undefined);
    return found;
  }

  /**
   * Every message from `start` up to sequence `lastSeq` (a snapshot taken
   * before, so the walk ends). Each fetch asks for exactly what is pending:
   * a fetch for more than the stream holds would wait out its expiry.
   */
  async *read(start: StreamStart, lastSeq: number): AsyncGenerator<StreamItem> {
    const consumer = await this.js.consumers.get(this.stream, options(start));
    try {
      let want = 1;
      for (;;) {
        const batch = await consumer.fetch({ max_messages: want, expires: FETCH_EXPIRES_MS });
        let pending = 0;
        let got = 0;
        for await (const m of batch) {
          got++;
          pending = m.info.pending;
          if (m.seq > lastSeq) return;
          yield toItem(m);
          if (m.seq === lastSeq) return;
        }
        if (got === 0 || pending === 0) return;
        want = Math.min(BATCH, pending);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

function options(start: StreamStart): Partial<OrderedConsumerOptions> {
  switch (start.kind) {
    case 'all':
      return { deliver_policy: DeliverPolicy.All };
    case 'seq':
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq };
    case 'time':
      return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
  }
}

/** The event id comes from the envelope body: a re-publish under another Nats-Msg-Id is still the same event. */
function toItem(m: JsMsg): StreamItem {
  let id: string | undefined;
  let tx: unknown;
  let pos: unknown;
  try {
    const body = JSON.parse(decoder.decode(m.data)) as { id?: unknown; transactionid?: unknown; globalposition?: unknown };
    if (typeof body.id === 'string') id = body.id;
    ({ transactionid: tx, globalposition: pos } = body);
  } catch {
    // Not an envelope: fall back to the dedupe id below.
  }
  id ??= m.headers?.get(Headers.MsgId) ?? `seq-${m.seq}`;
  const digits = (v: unknown): v is string => typeof v === 'string' && /^\d+$/.test(v);
  const cursor = digits(tx) && digits(pos) ? { transactionId: BigInt(tx), globalPosition: BigInt(pos) } : undefined;
  return { seq: m.seq, id, ...(cursor && { cursor }) };
}
