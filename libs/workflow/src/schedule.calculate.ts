import { cronOf } from './cron.pattern';
import type { CatchupPolicy, EventSchedule, Schedule } from './schedule.schema';

// Schedule arithmetic for the scheduler: when is the next occurrence, which
// occurrences were missed while it was down, and what to fire for them.
// Pure: "now" and "last fired" are inputs, ids and jitter are derived from
// the occurrence itself, so two replicas always compute the same thing.

export interface Occurrence {
  /** `<workflowId>@<occurrence ISO>`: the idempotency key of the run it starts. */
  id: string;
  /** The nominal time the schedule names. */
  at: Date;
  /** `at` plus the deterministic jitter: when the run is actually requested. */
  fireAt: Date;
}

export interface MissedOccurrences {
  /** To fire now, oldest first. */
  fire: Date[];
  /** Missed and dropped by the catchup policy or its cap, oldest first (for one event each). */
  skipped: Date[];
  /** More occurrences fell in the window than `limit`; only the most recent were considered. */
  truncated: boolean;
}

export interface MissedOptions {
  /** An occurrence at most this old counts as on time and always fires; default 0. */
  graceMs?: number;
  /** Most occurrences to enumerate in one window; default 10 000. */
  limit?: number;
}

const DEFAULT_LIMIT = 10_000;

/** The first occurrence strictly after `after`, or null when there is none (event triggers, a past one-off). */
export function nextOccurrence(schedule: Schedule, after: Date): Date | null {
  switch (schedule.kind) {
    case 'cron':
      return cronOf(schedule.cron, schedule.timezone).nextRun(after);
    case 'interval': {
      const k = Math.floor((after.getTime() - schedule.phaseMs) / schedule.everyMs) + 1;
      return new Date(schedule.phaseMs + k * schedule.everyMs);
    }
    case 'once': {
      const at = new Date(schedule.at);
      return at.getTime() > after.getTime() ? at : null;
    }
    case 'event':
      return null;
  }
}

/**
 * Occurrences in (from, to], oldest first. When more than `limit` fall in
 * the window, the most recent `limit` are returned: after a long outage those
 * are the ones any catchup policy acts on.
 */
export function occurrencesBetween(schedule: Schedule, from: Date, to: Date, limit = DEFAULT_LIMIT): { occurrences: Date[]; truncated: boolean } {
  const start = from.getTime();
  const end = to.getTime();
  if (end <= start) return { occurrences: [], truncated: false };
  switch (schedule.kind) {
    case 'event':
      return { occurrences: [], truncated: false };
    case 'once': {
      const at = new Date(schedule.at).getTime();
      return { occurrences: at > start && at <= end ? [new Date(at)] : [], truncated: false };
    }
    case 'interval': {
      const first = Math.floor((start - schedule.phaseMs) / schedule.everyMs) + 1;
      const last = Math.floor((end - schedule.phaseMs) / schedule.everyMs);
      const from = Math.max(first, last - limit + 1);
      const occurrences: Date[] = [];
      for (let k = from; k <= last; k++) occurrences.push(new Date(schedule.phaseMs + k * schedule.everyMs));
      return { occurrences, truncated: from > first };
    }
    case 'cron': {
      const cron = cronOf(schedule.cron, schedule.timezone);
      const occurrences: Date[] = [];
      let cursor: Date | null = from;
      while (occurrences.length < limit) {
        cursor = cron.nextRun(cursor);
        if (cursor === null || cursor.getTime() > end) return { occurrences, truncated: false };
        occurrences.push(cursor);
      }
      const after = cron.nextRun(cursor);
      if (after === null || after.getTime() > end) return { occurrences, truncated: false };
      // Too many: walk back from the end instead, so the newest are kept.
      const recent = cron.previousRuns(limit, new Date(end + 1)).filter((d) => d.getTime() > start);
      return { occurrences: recent.reverse(), truncated: true };
    }
  }
}

/**
 * What to do about the occurrences in (lastFired, now] that were not fired
 * (the scheduler was down, or the workflow paused):
 *
 * - skip:   fire none of the missed ones;
 * - latest: fire only the most recent missed one (the default: an outage
 *           never releases a herd);
 * - all:    fire them all, but at most `cap` of them, the most recent.
 *
 * Occurrences within `graceMs` of now are on time, not missed, and always fire.
 */
export function missedOccurrences(
  schedule: Schedule,
  lastFired: Date,
  now: Date,
  catchup?: CatchupPolicy,
  cap?: number,
  options: MissedOptions = {},
): MissedOccurrences {
  const policy = catchup ?? (schedule.kind === 'cron' || schedule.kind === 'interval' ? schedule.catchup : 'latest');
  const limit = cap ?? (schedule.kind === 'cron' || schedule.kind === 'interval' ? schedule.catchupCap : 10);
  const { occurrences, truncated } = occurrencesBetween(schedule, lastFired, now, options.limit ?? DEFAULT_LIMIT);
  const onTimeFrom = now.getTime() - (options.graceMs ?? 0);
  const missed = occurrences.filter((d) => d.getTime() < onTimeFrom);
  const onTime = occurrences.filter((d) => d.getTime() >= onTimeFrom);
  let fire: Date[];
  switch (policy) {
    case 'skip':
      fire = [];
      break;
    case 'latest':
      // An on-time occurrence already brings the workflow up to date.
      fire = onTime.length > 0 ? [] : missed.slice(-1);
      break;
    case 'all':
      fire = missed.slice(-Math.max(0, limit));
      break;
  }
  const firing = new Set(fire.map((d) => d.getTime()));
  return {
    fire: [...fire, ...onTime],
    skipped: missed.filter((d) => !firing.has(d.getTime())),
    truncated,
  };
}

export function occurrenceId(workflowId: string, at: Date): string {
  return `${workflowId}@${at.toISOString()}`;
}

/**
 * A deterministic offset in [0, maxJitterMs) from the occurrence id (FNV-1a):
 * it spreads workflows that share a schedule, and every replica and every
 * restart computes the same fire time for the same occurrence.
 */
export function jitterOffset(id: string, maxJitterMs: number): number {
  if (maxJitterMs <= 0) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 0x1_0000_0000) * maxJitterMs);
}

export function occurrenceOf(workflowId: string, schedule: Schedule, at: Date): Occurrence {
  const id = occurrenceId(workflowId, at);
  const jitter = 'jitterMs' in schedule && schedule.jitterMs !== undefined ? jitterOffset(id, schedule.jitterMs) : 0;
  return { id, at, fireAt: new Date(at.getTime() + jitter) };
}

/** For event triggers, one occurrence per triggering event. */
export function eventOccurrenceId(workflowId: string, eventId: string): string {
  return `${workflowId}@event:${eventId}`;
}

/** Whether a stored event triggers an `on` schedule: same type, and every `where` field (dotted path into data) equal. */
export function matchesTrigger(schedule: EventSchedule, event: { type: string; data: unknown }): boolean {
  if (event.type !== schedule.on) return false;
  return Object.entries(schedule.where).every(([path, expected]) => {
    let value: unknown = event.data;
    for (const part of path.split('.')) {
      if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return false;
      value = (value as Record<string, unknown>)[part];
    }
    return value === expected;
  });
}
