import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Pool } from 'pg';
import { causedBy, type EventEnvelope } from '@steward/contracts';
import { EventStore, processOnce } from '@steward/event-store';
import { POOL } from '../executor.tokens';
import { TimerFiredService, type FiredTimer } from '../timers/timer-fired.service';
import { RunRequestService, type RunRequest } from './run-request.service';

export const EVENTS_CONSUMER = 'executor';

/**
 * The events the executor acts on: a run the scheduler wants, and its own
 * timers coming due. Each is handled once (inbox keyed by event id) in one
 * transaction with everything it decides.
 */
@Controller()
export class RunEventsController {
  constructor(
    @Inject(POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(RunRequestService) private readonly requests: RunRequestService,
    @Inject(TimerFiredService) private readonly timers: TimerFiredService,
  ) {}

  @EventPattern('schedule.run_requested')
  async runRequested(@Payload() envelope: EventEnvelope): Promise<void> {
    await processOnce(this.pool, this.store, EVENTS_CONSUMER, envelope.id, (tx) => this.requests.request(tx, envelope.data as RunRequest, causedBy(envelope)));
  }

  @EventPattern('timer.fired')
  async timerFired(@Payload() envelope: EventEnvelope): Promise<void> {
    const timer = envelope.data as FiredTimer;
    // Timers of other services share the subject tree; skip them without an inbox row.
    if (timer.owner !== 'executor') return;
    await processOnce(this.pool, this.store, EVENTS_CONSUMER, envelope.id, (tx) => this.timers.fire(tx, timer, causedBy(envelope)));
  }
}
