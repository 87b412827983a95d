import { z } from 'zod';
import { defineEvent } from './registry';

/** Owner of a timer: the service that receives `timer.fired`, a subject token. */
const owner = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a service name such as executor');
const timerId = z.string().min(1).max(300);
const when = z.iso.datetime({ offset: true });

/**
 * What the fired event carries back so the timeline joins up: the requester's
 * correlation id, the event that asked for the timer, and its trace, so one
 * run stays one trace across a wait of hours.
 */
const Correlation = z.object({
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).optional(),
  traceparent: z.string().optional(),
});

/**
 * A service asks the scheduler (which owns time) to wake it. The timer id is
 * deterministic (e.g. `<runId>/<stepId>/retry/2`), so asking twice is one
 * timer; a restart loses nothing because the request is in the log.
 */
export const TimerRequested = defineEvent({
  type: 'timer.requested',
  version: 1,
  description: 'A service asked to be woken at a due time with a payload; the scheduler fires it once, also after a restart.',
  schema: z.object({
    timerId,
    owner,
    dueAt: when,
    payload: z.record(z.string(), z.unknown()),
    correlation: Correlation,
  }),
});

/** Routed by owner so each service's consumer filters one subject (`timer.fired.<owner>`). */
export const TimerFired = defineEvent({
  type: 'timer.fired',
  version: 1,
  description: 'A requested timer came due; routed to its owner, carrying the payload and correlation it was requested with.',
  schema: z.object({
    timerId,
    owner,
    dueAt: when,
    firedAt: when,
    payload: z.record(z.string(), z.unknown()),
    correlation: Correlation,
  }),
  route: (d) => d.owner,
});

export const TimerCancelled = defineEvent({
  type: 'timer.cancelled',
  version: 1,
  description: 'A pending timer was withdrawn by its owner (the wait ended early); it will not fire.',
  schema: z.object({
    timerId,
    owner,
    reason: z.string().max(500).optional(),
    cancelledAt: when,
  }),
});

export const timerEvents = [TimerRequested, TimerFired, TimerCancelled];
