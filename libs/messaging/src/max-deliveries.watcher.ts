import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import type { Metrics } from '@steward/observability';
import { ConsumerMetrics } from './consumer.metrics';
import { publishDeadLetter } from './dead-letter.publisher';
import { createJsonLogger, type Logger } from './json.logger';

/** `io.nats.jetstream.advisory.v1.max_deliver`, as NATS 2.9 sends it. */
export interface MaxDeliveriesAdvisory {
  type: string;
  id: string;
  timestamp: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

export interface MaxDeliveriesWatcherOptions {
  logger?: Logger;
  /** Only this consumer (durable name); default: every consumer of the namespace's streams. */
  consumer?: string;
  /**
   * Copy the message to the DLQ. The server only sends this advisory when no
   * handler outcome was recorded on the last delivery (a crash, or a handler
   * outliving ack_wait), so without this the message would silently stop.
   */
  deadLetter?: boolean;
  onAdvisory?: (advisory: MaxDeliveriesAdvisory) => void | Promise<void>;
  /** Counts copies in steward_dead_letters_total{reason="max_deliver_exhausted"}. */
  metrics?: Metrics;
}

export class MaxDeliveriesAdvisoryWatcher {
  private sub: Subscription | undefined;
  private readonly log: Logger;
  private readonly streams: Set<string>;
  private readonly metrics: ConsumerMetrics | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly options: MaxDeliveriesWatcherOptions = {},
  ) {
    this.log = options.logger ?? createJsonLogger();
    this.metrics = options.metrics ? new ConsumerMetrics(options.metrics) : undefined;
    this.streams = new Set((['EVENTS', 'COMMANDS', 'REPLAY'] as const).map((k) => subjects.stream(k)));
  }

  async start(): Promise<void> {
    // Stream names cannot be wildcarded by prefix, so subscribe to all and keep this namespace's.
    const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.*.${this.options.consumer ?? '*'}`;
    this.sub = this.nc.subscribe(subject, { callback: (err, msg) => void this.onMessage(err, msg) });
    await this.nc.flush();
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async onMessage(err: Error | null, msg: Msg): Promise<void> {
    if (err) {
      this.log.error('max-deliveries advisory subscription failed', { err });
      return;
    }
    let advisory: MaxDeliveriesAdvisory;
    try {
      advisory = msg.json<MaxDeliveriesAdvisory>();
    } catch {
      return;
    }
    if (!this.streams.has(advisory.stream)) return;
    this.log.error('message exhausted its deliveries without an outcome', {
      stream: advisory.stream,
      consumer: advisory.consumer,
      seq: advisory.stream_seq,
      deliveries: advisory.deliveries,
    });
    try {
      if (this.options.deadLetter) await this.copyToDlq(advisory);
      await this.options.onAdvisory?.(advisory);
    } catch (handlerErr) {
      this.log.error('max-deliveries advisory handling failed', { seq: advisory.stream_seq, err: handlerErr });
    }
  }

  private async copyToDlq(a: MaxDeliveriesAdvisory): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const stored = await jsm.streams.getMessage(a.stream, { seq: a.stream_seq });
    if (!stored) return; // already removed (limits or work-queue ack): nothing left to save
    await publishDeadLetter(
      jetstream(this.nc),
      this.subjects,
      { subject: stored.subject, data: stored.data, headers: stored.header, stream: a.stream, streamSequence: a.stream_seq, deliveryCount: a.deliveries },
      a.consumer,
      'max_deliver_exhausted',
      new Error(`delivered ${a.deliveries} times without an ack, nak or term (crash or handler longer than ack_wait)`),
    );
    this.metrics?.deadLettered(a.consumer, 'max_deliver_exhausted');
  }
}
