import type { EventStore } from '@steward/event-store';
import { unitOfWork } from '@steward/event-store';
import type { Logger, Metrics } from '@steward/observability';
import type { Pool } from 'pg';
import { appendOnce } from '../store/once.appender';
import { isTimedSchedule, occurrenceEvents, planOccurrences } from './occurrence.decide';
import type { ScheduleRepository } from './schedule.repository';

export interface OccurrenceSchedulerOptions {
  graceMs: number;
  /** Bounds one tick; what is left is due again on the next. */
  maxSchedulesPerTick?: number;
}

/**
 * Fires the due occurrences of time-based schedules. Each due schedule is
 * handled in its own transaction: its occurrences are appended to their
 * own streams with `no_stream` and its cursor advances together with them,
 * so a crash in between leaves either both or neither.
 */
export class OccurrenceScheduler {
  private readonly fired: ReturnType<Metrics['counter']>;
  private readonly missed: ReturnType<Metrics['counter']>;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly schedules: ScheduleRepository,
    private readonly options: OccurrenceSchedulerOptions,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.fired = metrics.counter('steward_scheduler_runs_requested_total', 'Runs requested, by trigger (replicas racing for one occurrence count once).', ['trigger']);
    this.missed = metrics.counter('steward_scheduler_occurrences_missed_total', 'Scheduled occurrences let go by their catchup policy.', ['reason']);
  }

  /** Handles every schedule due at `now`; returns how many runs it requested. */
  async fireDue(now: Date): Promise<number> {
    const handled: string[] = [];
    let requested = 0;
    const max = this.options.maxSchedulesPerTick ?? 500;
    while (handled.length < max) {
      const outcome = await unitOfWork(this.pool, async (tx) => {
        const due = await this.schedules.claimNextDue(tx, now, handled);
        if (due === null) return null;
        const schedule = due.definition.schedule;
        if (!isTimedSchedule(schedule)) {
          await this.schedules.remove(tx, due.workflowId);
          return { workflowId: due.workflowId, requested: 0 };
        }
        const plan = planOccurrences(due.workflowId, schedule, due.cursor, now, this.options.graceMs);
        if (plan.truncated) this.logger.warn('more occurrences passed than one catch-up considers; the oldest are not recorded', { workflow: due.workflowId });
        const snapshot = { id: due.workflowId, version: due.version, hash: due.hash, definition: due.definition };
        let appended = 0;
        for (const write of occurrenceEvents(snapshot, schedule, plan, now)) {
          // A duplicate is another replica (or this one before a restart) having written it: nothing to do.
          if ((await appendOnce(tx, this.store, write.streamId, [write.event])) === 'duplicate') continue;
          if (write.event.type === 'schedule.run_requested') appended++;
          else this.missed.inc({ reason: (write.event.data as { reason: string }).reason });
        }
        await this.schedules.save(tx, due.workflowId, plan.cursor, plan.nextDueAt);
        return { workflowId: due.workflowId, requested: appended };
      });
      if (outcome === null) break;
      handled.push(outcome.workflowId);
      requested += outcome.requested;
      if (outcome.requested > 0) this.fired.inc({ trigger: 'schedule' }, outcome.requested);
    }
    return requested;
  }
}
