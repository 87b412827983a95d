import type { Labels } from './fingerprint';

// Alertmanager's grouping timers: a new group waits group_wait before its
// first notification (so a burst arrives as one message); a change to a
// group already notified waits until group_interval after the last one; a
// group with nothing new repeats every repeat_interval while it fires.

export interface GroupTimings {
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

/** `receiver` plus the values of the group-by labels; `...` groups by every label. */
export function groupKeyOf(receiver: string, groupBy: readonly string[], labels: Labels): string {
  const names = groupBy.includes('...') ? Object.keys(labels).sort() : [...groupBy].sort();
  return `${receiver}:{${names.map((n) => `${n}=${JSON.stringify(labels[n] ?? '')}`).join(',')}}`;
}

export interface GroupState {
  lastFlushedAt: Date | null;
  nextFlushAt: Date | null;
}

/** When a group must next be flushed after one of its alerts changed state. */
export function flushAfterChange(group: GroupState | undefined, now: Date, t: GroupTimings): Date {
  if (group === undefined || group.lastFlushedAt === null) {
    return group?.nextFlushAt ?? new Date(now.getTime() + t.groupWaitMs);
  }
  const earliest = new Date(Math.max(now.getTime(), group.lastFlushedAt.getTime() + t.groupIntervalMs));
  return group.nextFlushAt !== null && group.nextFlushAt < earliest ? group.nextFlushAt : earliest;
}

/** After a flush: repeat while something fires, else sleep until the next change. */
export function flushAfterFlush(now: Date, stillFiring: boolean, t: GroupTimings): Date | null {
  return stillFiring ? new Date(now.getTime() + t.repeatIntervalMs) : null;
}
