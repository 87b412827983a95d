import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Headers, type Subjects } from '@steward/contracts';
import type { EncodedEnvelope } from '@steward/messaging';

/** What JetStream acknowledged for one event. */
export interface RelayAck {
  seq: number;
  duplicate: boolean;
}

interface Waiting {
  resolve: (ack: RelayAck) => void;
  reject: (err: Error) => void;
}

/** The status of a publish no stream takes. */
const NO_RESPONDERS = 503;

/**
 * The relay's JetStream publishes: the same subject, body and headers as
 * `publishEncoded` (Nats-Msg-Id = event id), pipelined on the connection
 * with the acks coming back to ONE reply subscription, instead of one
 * request each. A request costs the client a reply mapping, a timer and
 * (nats.js 3.4, even with noAsyncTraces) an Error object per publish: for
 * the busiest publisher of the system, a fifth of its CPU. A batch that is
 * not fully acknowledged within `timeoutMs` fails as a whole, like a
 * request that timed out: the relay reads it again and the stream's
 * duplicate window absorbs what was stored.
 */
export class RelayPublisher {
  private sub: Subscription | undefined;
  private prefix = '';
  private next = 0;
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Publishes the events in order; resolves with their acks once JetStream stored (or deduplicated) every one. */
  publishAll(events: readonly EncodedEnvelope[]): Promise<RelayAck[]> {
    if (events.length === 0) return Promise.resolve([]);
    this.subscribe();
    const tokens: string[] = [];
    const acks = events.map(
      (e) =>
        new Promise<RelayAck>((resolve, reject) => {
          const token = (this.next++).toString(36);
          tokens.push(token);
          this.waiting.set(token, { resolve, reject });
          const headers = natsHeaders();
          headers.set(Headers.MsgId, e.id);
          if (e.causationId !== undefined) headers.set(Headers.CausationId, e.causationId);
          if (e.traceparent !== undefined) headers.set(Headers.Traceparent, e.traceparent);
          try {
            this.nc.publish(this.subjects.event(e.type, e.route), e.envelope, { reply: `${this.prefix}.${token}`, headers });
          } catch (err) {
            this.settle(token, undefined, err instanceof Error ? err : new Error(String(err)));
          }
        }),
    );
    const timer = setTimeout(() => {
      for (const token of tokens) this.settle(token, undefined, new Error(`no JetStream ack within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
    return Promise.all(acks).finally(() => clearTimeout(timer));
  }

  /** Fails what still waits (the relay is stopping or lost its lead). */
  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    for (const token of [...this.waiting.keys()]) this.settle(token, undefined, new Error('relay publisher closed'));
  }

  private subscribe(): void {
    if (this.sub !== undefined && !this.sub.isClosed()) return;
    this.prefix = createInbox();
    this.sub = this.nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => (err ? this.failAll(err) : this.onAck(msg)) });
  }

  private onAck(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length + 1);
    if (msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS) {
      return this.settle(token, undefined, new Error(`no stream takes ${msg.subject}: JetStream not ready or the EVENTS stream is missing`));
    }
    let body: { seq?: number; duplicate?: boolean; error?: { code?: number; description?: string } };
    try {
      body = msg.json();
    } catch (err) {
      return this.settle(token, undefined, new Error('unreadable JetStream ack', { cause: err }));
    }
    if (body.error !== undefined || typeof body.seq !== 'number') {
      return this.settle(token, undefined, new Error(`JetStream refused the publish: ${body.error?.description ?? 'invalid ack'} (${body.error?.code ?? '?'})`));
    }
    this.settle(token, { seq: body.seq, duplicate: body.duplicate === true });
  }

  private failAll(err: Error): void {
    for (const token of [...this.waiting.keys()]) this.settle(token, undefined, err);
    this.sub = undefined;
  }

  private settle(token: string, ack: RelayAck | undefined, err?: Error): void {
    const w = this.waiting.get(token);
    if (w === undefined) return; // late ack of a batch that already failed
    this.waiting.delete(token);
    if (ack !== undefined) w.resolve(ack);
    else w.reject(err ?? new Error('publish failed'));
  }
}
