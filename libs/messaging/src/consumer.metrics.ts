import type { JetStreamManager } from '@nats-io/jetstream';
import type { Metrics } from '@steward/observability';
import type { DeadLetterReason } from './dead-letter.publisher';
import type { Logger } from './json.logger';

/**
 * How one delivery ended: acked after the handler (`success`), nak'd for a
 * retry, copied to the DLQ, acked without a handler here (`skipped`),
 * terminated by the handler itself, or `error` when the handler failed after
 * settling its message.
 */
export type HandlingOutcome = 'success' | 'retry' | 'dead_letter' | 'skipped' | 'terminated' | 'error';

/**
 * The transport's Prometheus series, shared by every consumer of the process
 * (Metrics returns an already registered metric by name). Label values are
 * bounded: `type` is a handled pattern or `unhandled`/`unknown`, never a
 * value taken from an unvalidated message.
 */
export class ConsumerMetrics {
  private readonly duration;
  private readonly handledTotal;
  private readonly deadLetters;
  private readonly pending;
  private readonly ackPending;

  constructor(metrics: Metrics) {
    this.duration = metrics.histogram(
      'steward_handler_duration_seconds',
      'Time from receiving a message to settling it, by consumer, message type and outcome',
      ['consumer', 'type', 'outcome'],
    );
    this.handledTotal = metrics.counter('steward_messages_handled_total', 'Messages settled, by consumer, message type and outcome', [
      'consumer',
      'type',
      'outcome',
    ]);
    this.deadLetters = metrics.counter('steward_dead_letters_total', 'Messages copied to the dead-letter stream, by consumer and reason', [
      'consumer',
      'reason',
    ]);
    this.pending = metrics.gauge('steward_consumer_pending', 'Messages in the stream not yet delivered to this durable consumer', ['consumer']);
    this.ackPending = metrics.gauge('steward_consumer_ack_pending', 'Messages delivered to this durable consumer and not yet acknowledged', [
      'consumer',
    ]);
  }

  handled(consumer: string, type: string, outcome: HandlingOutcome, seconds: number): void {
    this.duration.observe({ consumer, type, outcome }, seconds);
    this.handledTotal.inc({ consumer, type, outcome });
  }

  deadLettered(consumer: string, reason: DeadLetterReason): void {
    this.deadLetters.inc({ consumer, reason });
  }

  backlog(consumer: string, pending: number, ackPending: number): void {
    this.pending.set({ consumer }, pending);
    this.ackPending.set({ consumer }, ackPending);
  }
}

export interface PolledConsumer {
  stream: string;
  durable: string;
}

/**
 * Refreshes the backlog gauges from consumer info: only the server knows how
 * many messages wait, and KEDA and the dashboard scale and alert on it.
 */
export class ConsumerBacklogPoller {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly consumers: PolledConsumer[],
    private readonly metrics: ConsumerMetrics,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  private poll(): Promise<void> {
    this.polling ??= Promise.all(
      this.consumers.map(async (c) => {
        try {
          const info = await this.jsm.consumers.info(c.stream, c.durable);
          this.metrics.backlog(c.durable, info.num_pending, info.num_ack_pending);
        } catch (err) {
          // Stale figures beat none; the next poll retries. Readiness reports an outage.
          this.log.debug('consumer info failed', { consumer: c.durable, err });
        }
      }),
    )
      .then(() => undefined)
      .finally(() => (this.polling = undefined));
    return this.polling;
  }
}
