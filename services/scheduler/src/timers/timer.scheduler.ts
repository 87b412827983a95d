import { TimerFired, type EventData } from '@steward/contracts';
import { unitOfWork, type EventStore } from '@steward/event-store';
import type { Metrics } from '@steward/observability';
import type { Pool } from 'pg';
import { appendOnce } from '../store/once.appender';
import type { TimerRepository, TimerRow } from './timer.repository';

export const timerStreamId = (timerId: string): string => `timer-${timerId}`;

/**
 * Fires due timers: `timer.fired` to `timer-<timerId>` with `no_stream`
 * (exactly once, whichever replica gets there first, also after a crash
 * between the append and marking the row), in the transaction that marks
 * the row fired.
 */
export class TimerScheduler {
  private readonly fired: ReturnType<Metrics['counter']>;
  private readonly lateness: ReturnType<Metrics['histogram']>;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly timers: TimerRepository,
    private readonly batchSize: number,
    metrics: Metrics,
  ) {
    this.fired = metrics.counter('steward_scheduler_timers_fired_total', 'Durable timers fired, by owner.', ['owner']);
    this.lateness = metrics.histogram('steward_scheduler_timer_lateness_seconds', 'How long after its due time a timer fired.', [], [0.01, 0.1, 0.5, 1, 2, 5, 30, 60, 300, 3600]);
  }

  /** Fires every timer due at `now`, a batch per transaction; returns how many it fired. */
  async fireDue(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await unitOfWork(this.pool, async (tx) => {
        const due = await this.timers.claimDue(tx, now, this.batchSize);
        const fired: TimerRow[] = [];
        for (const t of due) {
          if ((await appendOnce(tx, this.store, timerStreamId(t.timerId), [firedEvent(t, now)])) === 'appended') fired.push(t);
        }
        if (due.length > 0) await this.timers.markFired(tx, due.map((t) => t.timerId));
        return { claimed: due.length, fired };
      });
      for (const t of batch.fired) {
        this.fired.inc({ owner: t.owner });
        this.lateness.observe(Math.max(0, now.getTime() - t.dueAt.getTime()) / 1000);
      }
      total += batch.fired.length;
      if (batch.claimed < this.batchSize) return total;
    }
  }
}

function firedEvent(t: TimerRow, now: Date) {
  const data: EventData<typeof TimerFired> = {
    timerId: t.timerId,
    owner: t.owner,
    dueAt: t.dueAt.toISOString(),
    firedAt: now.toISOString(),
    payload: t.payload,
    correlation: t.correlation,
  };
  return {
    type: TimerFired.type,
    data,
    // The requester's thread and trace continue through a wait of hours.
    metadata: {
      correlationId: t.correlation.correlationId,
      ...(t.correlation.causationId !== undefined && { causationId: t.correlation.causationId }),
      ...(t.correlation.traceparent !== undefined && { traceparent: t.correlation.traceparent }),
      ...(t.context.workflowId !== undefined && { workflowId: t.context.workflowId }),
      ...(t.context.runId !== undefined && { runId: t.context.runId }),
    },
  };
}
