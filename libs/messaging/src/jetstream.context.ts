import type { JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { BaseRpcContext } from '@nestjs/microservices';
import { Headers, type EventEnvelope } from '@steward/contracts';
import type { CommandEnvelope } from './command.envelope';

export type Settlement = 'ack' | 'nak' | 'term';

/** What the server knows about a message besides the JsMsg itself. */
export interface JetStreamMessageMeta {
  consumer: string;
  envelope?: EventEnvelope;
  command?: CommandEnvelope;
}

/**
 * Handed to `@EventPattern` handlers as the second argument (`@Ctx()`), like
 * Nest's NatsContext. Settling by hand (ack/nak/term) tells the server not to
 * settle again: a JetStream message must be acknowledged exactly once.
 */
export class JetStreamContext extends BaseRpcContext<[JsMsg, JetStreamMessageMeta]> {
  private settlement: Settlement | undefined;
  private termReason: string | undefined;

  constructor(msg: JsMsg, meta: JetStreamMessageMeta) {
    super([msg, meta]);
  }

  getMessage(): JsMsg {
    return this.args[0];
  }

  getSubject(): string {
    return this.args[0].subject;
  }

  getHeaders(): MsgHdrs | undefined {
    return this.args[0].headers;
  }

  getHeader(name: string): string | undefined {
    const h = this.args[0].headers;
    return h?.has(name) ? h.get(name) : undefined;
  }

  /** W3C trace context of the message, to continue the trace in this service. */
  getTraceparent(): string | undefined {
    return this.getHeader(Headers.Traceparent) ?? this.args[1].envelope?.traceparent ?? this.args[1].command?.traceparent;
  }

  /** The event envelope with `data` already upcast to the current schema version (events and replays). */
  getEnvelope(): EventEnvelope | undefined {
    return this.args[1].envelope;
  }

  /** The decoded command (COMMANDS consumers). */
  getCommand(): CommandEnvelope | undefined {
    return this.args[1].command;
  }

  getDeliveryCount(): number {
    return this.args[0].info.deliveryCount;
  }

  getStreamSequence(): number {
    return this.args[0].info.streamSequence;
  }

  getStream(): string {
    return this.args[0].info.stream;
  }

  getConsumer(): string {
    return this.args[1].consumer;
  }

  ack(): void {
    this.settle('ack', () => this.args[0].ack());
  }

  nak(delayMs?: number): void {
    this.settle('nak', () => this.args[0].nak(delayMs));
  }

  /**
   * The reason is kept for logs only: NATS 2.9 compares the ack body to
   * `+TERM` exactly and would misread `+TERM <reason>` (reasons need 2.11).
   */
  term(reason?: string): void {
    this.termReason = reason;
    this.settle('term', () => this.args[0].term());
  }

  /** Resets the ack-wait timer; the server also calls this while a handler runs long. */
  working(): void {
    if (this.settlement === undefined) this.args[0].working();
  }

  isSettled(): boolean {
    return this.settlement !== undefined;
  }

  getSettlement(): Settlement | undefined {
    return this.settlement;
  }

  getTermReason(): string | undefined {
    return this.termReason;
  }

  private settle(kind: Settlement, fn: () => void): void {
    if (this.settlement !== undefined) return;
    this.settlement = kind;
    fn();
  }
}
