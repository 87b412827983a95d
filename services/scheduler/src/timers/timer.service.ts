import { TimerCancelled, TimerRequested, type EventData, type EventEnvelope } from '@steward/contracts';
import { processOnce, type EventStore } from '@steward/event-store';
import type { Pool } from 'pg';
import type { TimerRepository } from './timer.repository';

export const EVENT_CONSUMER = 'scheduler';

/** Keeps scheduler_timers from the timer.requested / timer.cancelled events of every service. */
export class TimerService {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly timers: TimerRepository,
  ) {}

  async requested(e: EventEnvelope): Promise<void> {
    const d = e.data as EventData<typeof TimerRequested>;
    await processOnce(this.pool, this.store, EVENT_CONSUMER, e.id, (tx) =>
      this.timers.request(tx, {
        timerId: d.timerId,
        owner: d.owner,
        dueAt: new Date(d.dueAt),
        payload: d.payload,
        correlation: d.correlation,
        context: { ...(e.workflowid !== undefined && { workflowId: e.workflowid }), ...(e.runid !== undefined && { runId: e.runid }) },
      }),
    );
  }

  async cancelled(e: EventEnvelope): Promise<void> {
    const d = e.data as EventData<typeof TimerCancelled>;
    await processOnce(this.pool, this.store, EVENT_CONSUMER, e.id, (tx) => this.timers.cancel(tx, d.timerId, d.owner));
  }
}
