import { ScheduleOccurrenceMissed, type EventData, type NewEvent } from '@steward/contracts';
import { missedOccurrences, nextOccurrence, occurrenceOf, occurrencesBetween, type Occurrence, type Schedule } from '@steward/workflow';
import { occurrenceStreamId, scheduledRunRequested, type WorkflowSnapshot } from '../runs/run-request.decide';

// What one tick does for one time-based schedule, as a pure function of the
// schedule, its cursor (every occurrence at or before it was fired or
// recorded as missed) and now. Every replica computes the same answer, and
// each occurrence has ONE stream, so who writes first does not matter.

export type TimedSchedule = Extract<Schedule, { kind: 'cron' | 'interval' | 'once' }>;
type MissedReason = EventData<typeof ScheduleOccurrenceMissed>['reason'];

/** Most occurrences one tick looks at; after a longer outage only the most recent count (and are recorded). */
export const OCCURRENCE_WINDOW_LIMIT = 10_000;

export interface OccurrencePlan {
  fire: Occurrence[];
  missed: Array<{ occurrence: Occurrence; reason: MissedReason }>;
  /** The new cursor. */
  cursor: Date;
  /** When the next occurrence fires (nominal time + jitter), or null when there is none. */
  nextDueAt: Date | null;
  /** More occurrences passed than OCCURRENCE_WINDOW_LIMIT; the older ones are neither fired nor recorded. */
  truncated: boolean;
}

export function isTimedSchedule(schedule: Schedule | undefined): schedule is TimedSchedule {
  return schedule !== undefined && schedule.kind !== 'event';
}

export function catchupOf(schedule: TimedSchedule): 'skip' | 'latest' | 'all' {
  return schedule.kind === 'once' ? 'latest' : schedule.catchup;
}

/** When the first occurrence after `cursor` fires; null when the schedule has no more. */
export function nextDueAt(workflowId: string, schedule: TimedSchedule, cursor: Date): Date | null {
  const next = nextOccurrence(schedule, cursor);
  return next === null ? null : occurrenceOf(workflowId, schedule, next).fireAt;
}

/**
 * Occurrences in (cursor, now] whose fire time (with jitter) has come, split
 * by the catchup policy into those to fire and those missed. An occurrence
 * within `graceMs` of now (plus the schedule's jitter, which delays on
 * purpose) is on time and always fires.
 */
export function planOccurrences(workflowId: string, schedule: TimedSchedule, cursor: Date, now: Date, graceMs: number): OccurrencePlan {
  const { occurrences } = occurrencesBetween(schedule, cursor, now, OCCURRENCE_WINDOW_LIMIT);
  // The first occurrence whose jittered fire time is still ahead waits, and so does everything after it.
  let horizon = now;
  for (const at of occurrences) {
    if (occurrenceOf(workflowId, schedule, at).fireAt.getTime() > now.getTime()) {
      horizon = new Date(at.getTime() - 1);
      break;
    }
  }
  const jitterMs = schedule.kind === 'once' ? 0 : (schedule.jitterMs ?? 0);
  // missedOccurrences measures lateness from its `now`, which here is the horizon.
  const grace = graceMs + jitterMs + (now.getTime() - horizon.getTime());
  const policy = catchupOf(schedule);
  const result = missedOccurrences(schedule, cursor, horizon, policy, undefined, { graceMs: grace, limit: OCCURRENCE_WINDOW_LIMIT });
  const reason: MissedReason = policy === 'skip' ? 'catchup_skip' : policy === 'latest' ? 'catchup_latest' : 'catchup_cap';
  const cursorAfter = horizon.getTime() > cursor.getTime() ? horizon : cursor;
  return {
    fire: result.fire.map((at) => occurrenceOf(workflowId, schedule, at)),
    missed: result.skipped.map((at) => ({ occurrence: occurrenceOf(workflowId, schedule, at), reason })),
    cursor: cursorAfter,
    nextDueAt: nextDueAt(workflowId, schedule, cursorAfter),
    truncated: result.truncated,
  };
}

export interface OccurrenceWrite {
  streamId: string;
  event: NewEvent;
}

/** One event per occurrence, each to its own stream (appended with `no_stream`). */
export function occurrenceEvents(workflow: WorkflowSnapshot, schedule: TimedSchedule, plan: OccurrencePlan, now: Date): OccurrenceWrite[] {
  const fired = plan.fire.map((o) => ({ streamId: occurrenceStreamId(o.id), event: scheduledRunRequested(workflow, o, now) as NewEvent }));
  const missed = plan.missed.map(({ occurrence, reason }) => ({
    streamId: occurrenceStreamId(occurrence.id),
    event: {
      type: ScheduleOccurrenceMissed.type,
      data: {
        workflowId: workflow.id,
        version: workflow.version,
        occurrence: { id: occurrence.id, at: occurrence.at.toISOString() },
        catchup: catchupOf(schedule),
        reason,
        detectedAt: now.toISOString(),
      } satisfies EventData<typeof ScheduleOccurrenceMissed>,
      metadata: { workflowId: workflow.id },
    },
  }));
  // Oldest first, as they happened.
  return [...missed, ...fired].sort((a, b) => occurrenceAt(a) - occurrenceAt(b));
}

function occurrenceAt(w: OccurrenceWrite): number {
  const data = w.event.data as { occurrence?: { at: string } };
  return data.occurrence ? Date.parse(data.occurrence.at) : 0;
}
