import type { Pool } from 'pg';
import { causedBy, type EventData, type EventEnvelope, type TimerFired } from '@steward/contracts';
import { InboxBatcher, processOnce, type EventStore } from '@steward/event-store';
import type { BatchDelivery } from '@steward/messaging';
import type { Metrics } from '@steward/observability';
import type { Clock } from '../clock';
import type { EvaluationService } from '../alerts/evaluation.service';
import { TIMER_OWNER, type EscalationService } from '../escalation/escalation.service';
import { lockableScopes } from './signal.batch';
import { SIGNAL_EVENTS, type SignalProjector } from './signal.projector';

export const EVENTS_CONSUMER = 'alerter';

/** Every event type the alerter watches: its signals, and timer.fired for its escalation timers. */
export const WATCHED_TYPES = [...SIGNAL_EVENTS, 'timer.fired'] as const;

/** How events share transactions (InboxBatcher); one batch at a time keeps evaluation in delivery order. */
export interface IngestBatching {
  maxBatch: number;
  maxWaitMs: number;
}

/**
 * Per delivered batch, inside its inbox transaction: the per-scope locks of
 * every scope its events may touch (one statement, in scope order), then
 * segment by segment (SignalProjector.applyBatch) the signal projection of
 * the segment's events (one statement per table) and one evaluation of the
 * scopes they touched (a handful of statements for all of them), with every
 * alert event that follows. No scope sees two events of a segment, so alerts
 * change exactly as with one event at a time. The events the transport
 * handles at once share the transaction (group commit, in delivery order);
 * each is acked after it commits. A redelivered event finds its inbox row; a
 * failing one is retried alone.
 */
export class SignalIngest {
  private readonly ingested;
  private readonly batcher: InboxBatcher<EventEnvelope>;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly projector: SignalProjector,
    private readonly evaluation: EvaluationService,
    private readonly escalation: EscalationService,
    private readonly clock: Clock,
    metrics: Metrics,
    batching: IngestBatching = { maxBatch: 1000, maxWaitMs: 2 },
  ) {
    this.ingested = metrics.counter('steward_alerter_events_ingested_total', 'Events the alerter folded into its signals', ['type']);
    const size = metrics.histogram('steward_alerter_batch_events', 'Events per alerter ingest transaction', [], [1, 5, 10, 25, 50, 100, 200, 500, 1000, 2000]);
    this.batcher = new InboxBatcher<EventEnvelope>(
      pool,
      store,
      { consumer: EVENTS_CONSUMER, maxBatch: batching.maxBatch, maxWaitMs: batching.maxWaitMs, parallel: 1, onBatch: (n) => size.observe(n) },
      (e) => e.id,
      async (tx, events) => {
        const now = this.clock.now();
        const batch = await this.evaluation.begin(tx, lockableScopes(events));
        await this.projector.applyBatch(tx, events, (scopes) => this.evaluation.evaluateMany(tx, batch, new Map([...scopes].map(([scope, i]) => [scope, causedBy(events[i]!)])), now));
      },
    );
  }

  /**
   * How the transport hands events over: the messages of a fetch together
   * (batch delivery), each submitted to the inbox batcher (or, for a timer,
   * handled alone) and acked once its transaction committed.
   */
  delivery(maxMessages: number): BatchDelivery {
    return {
      types: WATCHED_TYPES,
      maxMessages,
      handle: (items) => Promise.allSettled(items.map((i) => (i.envelope.type === 'timer.fired' ? this.timer(i.envelope) : this.handle(i.envelope)))),
    };
  }

  async handle(e: EventEnvelope): Promise<void> {
    if ((await this.batcher.submit(e)) === 'processed') this.ingested.inc({ type: e.type });
  }

  async timer(e: EventEnvelope): Promise<void> {
    const timer = e.data as EventData<typeof TimerFired>;
    // Timers of other services share the subject tree; skip them without an inbox row.
    if (timer.owner !== TIMER_OWNER) return;
    await processOnce(this.pool, this.store, EVENTS_CONSUMER, e.id, async (tx) => {
      const rules = await this.evaluation.ruleSet(tx);
      await this.escalation.timerFired(tx, timer, rules, this.clock.now(), causedBy(e));
    });
  }
}
