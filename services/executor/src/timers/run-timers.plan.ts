import { z } from 'zod';
import type { EventMetadata, NewEvent, StoredEvent } from '@steward/contracts';

// Which durable timers a batch of run events needs. The scheduler owns time:
// the executor appends `timer.requested` to the run stream and gets
// `timer.fired` (owner executor) back when it is due. Timer ids are
// deterministic, so asking twice is one timer; a timer that fires after the
// step moved on decides nothing (the decider ignores stale timers).

export const TIMER_OWNER = 'executor';

export const TIMER_KINDS = ['retry', 'schedule_to_start', 'start_to_close', 'heartbeat', 'approval', 'run_timeout'] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/** What a fired timer carries back to the executor. */
export const TimerPayloadSchema = z.object({
  kind: z.enum(TIMER_KINDS),
  runId: z.string().min(1),
  stepId: z.string().min(1).optional(),
  attempt: z.number().int().positive().optional(),
  /** Heartbeat timers are re-armed while heartbeats arrive: one id per arming. */
  seq: z.number().int().positive().optional(),
});
export type TimerPayload = z.infer<typeof TimerPayloadSchema>;

export interface StepTimeouts {
  startToCloseMs: number;
  heartbeatMs?: number;
}

export interface TimerContext {
  runId: string;
  /** Whole-run timeout of the definition, if any. */
  runTimeoutMs?: number;
  stepTimeouts: (stepId: string) => StepTimeouts | undefined;
  metadata: EventMetadata;
}

export function timerId(p: TimerPayload): string {
  if (p.kind === 'run_timeout') return `${p.runId}:run_timeout`;
  const base = `${p.runId}:${p.stepId}:${p.attempt}:${p.kind}`;
  return p.seq === undefined ? base : `${base}:${p.seq}`;
}

export function timerRequest(payload: TimerPayload, dueAt: string, ctx: Pick<TimerContext, 'metadata'>, causationId?: string): NewEvent {
  return {
    type: 'timer.requested',
    data: {
      timerId: timerId(payload),
      owner: TIMER_OWNER,
      dueAt,
      payload,
      correlation: {
        correlationId: ctx.metadata.correlationId ?? payload.runId,
        ...(causationId !== undefined && { causationId }),
        ...(ctx.metadata.traceparent !== undefined && { traceparent: ctx.metadata.traceparent }),
      },
    },
  };
}

const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

type Data = Record<string, unknown> & { stepId?: string; attempt?: number };

/** A later event of the same batch already settled this step: no timer for what just ended. */
function settledLater(events: StoredEvent[], index: number, stepId: string, types: readonly string[]): boolean {
  return events.slice(index + 1).some((e) => types.includes(e.type) && (e.data as Data).stepId === stepId);
}

const ENDS_ATTEMPT = ['step.succeeded', 'step.failed', 'step.timed_out', 'step.cancelled'] as const;

/** Whether an attempt of the batch started and is still running after it: only then are step timeouts needed. */
export function stepsStillRunning(events: StoredEvent[]): boolean {
  return events.some((e, i) => e.type === 'step.started' && !settledLater(events, i, (e.data as Data).stepId!, ENDS_ATTEMPT));
}

export function planTimers(events: StoredEvent[], ctx: TimerContext): NewEvent[] {
  const out: NewEvent[] = [];
  const { runId } = ctx;
  events.forEach((e, i) => {
    const d = e.data as Data;
    switch (e.type) {
      case 'run.queued':
        if (ctx.runTimeoutMs !== undefined) out.push(timerRequest({ kind: 'run_timeout', runId }, plus(d.queuedAt as string, ctx.runTimeoutMs), ctx, e.eventId));
        return;
      case 'step.queued': {
        // Only a step's own scheduleToStart is a timer. The executor's default (a queue nobody serves)
        // is a sweep of its projection (QueuedStepSweep): a timer for every attempt, fired an hour later
        // to find it long started, cost an event, a delivery and a decision each, for nothing.
        const waitMs = (d.timeouts as { scheduleToStartMs?: number } | undefined)?.scheduleToStartMs;
        if (d.kind === 'approval' || waitMs === undefined || waitMs <= 0) return;
        if (settledLater(events, i, d.stepId!, ['step.started', ...ENDS_ATTEMPT])) return;
        out.push(timerRequest({ kind: 'schedule_to_start', runId, stepId: d.stepId!, attempt: d.attempt! }, plus(d.queuedAt as string, waitMs), ctx, e.eventId));
        return;
      }
      case 'step.started': {
        const timeouts = ctx.stepTimeouts(d.stepId!);
        if (timeouts === undefined || settledLater(events, i, d.stepId!, ENDS_ATTEMPT)) return;
        const p = { runId, stepId: d.stepId!, attempt: d.attempt! };
        out.push(timerRequest({ kind: 'start_to_close', ...p }, plus(d.startedAt as string, timeouts.startToCloseMs), ctx, e.eventId));
        if (timeouts.heartbeatMs !== undefined) out.push(timerRequest({ kind: 'heartbeat', ...p, seq: 1 }, plus(d.startedAt as string, timeouts.heartbeatMs), ctx, e.eventId));
        return;
      }
      case 'step.retry_scheduled':
        out.push(timerRequest({ kind: 'retry', runId, stepId: d.stepId!, attempt: d.nextAttempt as number }, d.dueAt as string, ctx, e.eventId));
        return;
      case 'approval.requested':
      case 'approval.escalated': {
        // The escalation waits one more timeout under its own id: the first timer has fired already.
        const seq = e.type === 'approval.escalated' ? 2 : undefined;
        out.push(timerRequest({ kind: 'approval', runId, stepId: d.stepId!, attempt: 1, ...(seq !== undefined && { seq }) }, d.dueAt as string, ctx, e.eventId));
        return;
      }
      default:
        return;
    }
  });
  return out;
}
