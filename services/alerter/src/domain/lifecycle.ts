// The alert lifecycle as a pure decision: given the open alert (if any) for
// a fingerprint, whether its condition holds now, and the rule's timings,
// what happens next. pending -> firing -> (acknowledged) -> resolved; a
// condition that comes back after a resolve opens a new alert.

export type OpenState = 'pending' | 'firing' | 'acknowledged';

export interface OpenAlert {
  state: OpenState;
  pendingAt: Date;
  /** When the condition was last seen false while firing (keepFiringFor runs from here). */
  inactiveSince: Date | null;
}

export interface Timings {
  forMs: number;
  keepFiringForMs: number;
}

export type Transition =
  | { kind: 'none' }
  | { kind: 'open'; fire: boolean }
  | { kind: 'fire' }
  | { kind: 'resolve'; reason: 'condition_cleared' | 'cleared_before_firing' }
  | { kind: 'inactive'; since: Date }
  | { kind: 'active_again' };

export function decideTransition(open: OpenAlert | undefined, active: boolean, timings: Timings, now: Date): Transition {
  if (open === undefined) return active ? { kind: 'open', fire: timings.forMs === 0 } : { kind: 'none' };
  if (open.state === 'pending') {
    if (!active) return { kind: 'resolve', reason: 'cleared_before_firing' };
    return now.getTime() - open.pendingAt.getTime() >= timings.forMs ? { kind: 'fire' } : { kind: 'none' };
  }
  // firing or acknowledged
  if (active) return open.inactiveSince === null ? { kind: 'none' } : { kind: 'active_again' };
  const since = open.inactiveSince ?? now;
  if (now.getTime() - since.getTime() >= timings.keepFiringForMs) return { kind: 'resolve', reason: 'condition_cleared' };
  return open.inactiveSince === null ? { kind: 'inactive', since: now } : { kind: 'none' };
}
