import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Pool } from 'pg';
import { causedBy, type EventEnvelope } from '@steward/contracts';
import { EventStore, processOnce, type InboxBatcher } from '@steward/event-store';
import { POOL, RUN_REQUESTS } from '../executor.tokens';
import { TimerFiredService, type FiredTimer } from '../timers/timer-fired.service';

export const EVENTS_CONSUMER = 'executor';

/**
 * The events the executor acts on: a run the scheduler wants, and its own
 * timers coming due. Each is handled once (inbox keyed by event id) in one
 * transaction with everything it decides; run requests delivered together
 * share that transaction (runRequestBatcher).
 */
@Controller()
export class RunEventsController {
  constructor(
    @Inject(POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(RUN_REQUESTS) private readonly requests: InboxBatcher<EventEnvelope>,
    @Inject(TimerFiredService) private readonly timers: TimerFiredService,
  ) {}

  /** Resolves once the run is committed (its batch's transaction), so the message is acked after it. */
  @EventPattern('schedule.run_requested')
  async runRequested(@Payload() envelope: EventEnvelope): Promise<void> {
    await this.requests.submit(envelope);
  }

  @EventPattern('timer.fired')
  async timerFired(@Payload() envelope: EventEnvelope): Promise<void> {
    const timer = envelope.data as FiredTimer;
    // Timers of other services share the subject tree; skip them without an inbox row.
    if (timer.owner !== 'executor') return;
    await processOnce(this.pool, this.store, EVENTS_CONSUMER, envelope.id, (tx) => this.timers.fire(tx, timer, causedBy(envelope)));
  }
}
