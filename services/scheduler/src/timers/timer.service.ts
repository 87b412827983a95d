import { TimerCancelled, TimerRequested, type EventData, type EventEnvelope } from '@steward/contracts';
import { InboxBatcher, type EventStore, type InboxBatcherOptions } from '@steward/event-store';
import type { Pool } from 'pg';
import type { TimerRepository, TimerRequest } from './timer.repository';

export const EVENT_CONSUMER = 'scheduler';

export type TimerBatching = Pick<InboxBatcherOptions, 'maxBatch' | 'maxWaitMs' | 'parallel'>;

type TimerChange = { kind: 'requested'; e: EventEnvelope } | { kind: 'cancelled'; e: EventEnvelope };

const timerIdOf = (c: TimerChange): string => (c.e.data as { timerId: string }).timerId;

/**
 * Keeps scheduler_timers from the timer.requested / timer.cancelled events
 * of every service. Changes delivered together share one transaction (group
 * commit: one inbox statement, one insert of the requests and one COMMIT
 * per batch instead of per timer); each is still recorded once by its
 * event id, and a failing batch is retried one change at a time. Rows are
 * written in timer id order so two batches (two replicas) queue on a
 * shared timer instead of deadlocking;
 * the sort is stable, so a request and a cancellation of one timer keep
 * their delivery order.
 */
export class TimerService {
  private readonly batcher: InboxBatcher<TimerChange>;

  constructor(pool: Pool, store: EventStore, private readonly timers: TimerRepository, batching: TimerBatching) {
    this.batcher = new InboxBatcher<TimerChange>(pool, store, { consumer: EVENT_CONSUMER, ...batching }, (c) => c.e.id, async (tx, changes) => {
      const ordered = [...changes].sort((a, b) => (timerIdOf(a) < timerIdOf(b) ? -1 : timerIdOf(a) > timerIdOf(b) ? 1 : 0));
      // Requests in a row go in one statement; a cancellation is written where it stands in the order.
      let requests: TimerRequest[] = [];
      for (const c of ordered) {
        if (c.kind === 'requested') {
          requests.push(requestOf(c.e));
          continue;
        }
        await this.timers.requestMany(tx, requests);
        requests = [];
        await this.timers.cancel(tx, timerIdOf(c), (c.e.data as EventData<typeof TimerCancelled>).owner);
      }
      await this.timers.requestMany(tx, requests);
    });
  }

  async requested(e: EventEnvelope): Promise<void> {
    await this.batcher.submit({ kind: 'requested', e });
  }

  async cancelled(e: EventEnvelope): Promise<void> {
    await this.batcher.submit({ kind: 'cancelled', e });
  }
}

function requestOf(e: EventEnvelope): TimerRequest {
  const d = e.data as EventData<typeof TimerRequested>;
  return {
    timerId: d.timerId,
    owner: d.owner,
    dueAt: new Date(d.dueAt),
    payload: d.payload,
    correlation: d.correlation,
    context: { ...(e.workflowid !== undefined && { workflowId: e.workflowid }), ...(e.runid !== undefined && { runId: e.runid }) },
  };
}
