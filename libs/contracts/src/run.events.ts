import { z } from 'zod';
import { defineEvent } from './registry';

// The run aggregate's events (stream `run-<runId>`), decided by
// @steward/workflow's run decider. Every payload names its run and workflow
// so a consumer never needs the stream to know what an event is about.

const when = z.iso.datetime({ offset: true });
const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase slug');
const run = { runId: z.string().min(1).max(200), workflowId: slug };
const step = { ...run, stepId: slug };
const attempt = z.number().int().positive();

export const STEP_KINDS = ['collect', 'transform', 'task', 'approval'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Why an attempt failed, as the worker (or the executor, for timeouts) reported it. */
export const StepErrorSchema = z.object({
  code: z.string().min(1).max(100),
  message: z.string().max(4000),
  retryable: z.boolean(),
  /** The source asked to wait this long before the next try (HTTP Retry-After); the retry waits at least this. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type StepError = z.infer<typeof StepErrorSchema>;

/**
 * Who does a queued step: the collector, the transformer, the task queue a
 * worker serves, or the operators (approvals). Its route token is the last
 * subject token of `step.queued`, so each of them consumes ONE filter subject.
 */
export const StepTargetSchema = z.discriminatedUnion('service', [
  z.object({ service: z.literal('collector') }),
  z.object({ service: z.literal('transformer') }),
  z.object({ service: z.literal('worker'), queue: slug }),
  z.object({ service: z.literal('operators') }),
]);
export type StepTarget = z.infer<typeof StepTargetSchema>;

/** What a handler reported using for cost tracking (ctx.reportUsage), as the worker sent it. */
export const ReportedUsageSchema = z.object({
  provider: z.string().min(1).max(100),
  endpoint: z.string().max(300).optional(),
  model: z.string().max(200).optional(),
  units: z.number().nonnegative(),
  unit: z.string().min(1).max(50),
  costUsd: z.number().nonnegative().optional(),
});
export type ReportedUsage = z.infer<typeof ReportedUsageSchema>;
const reportedUsage = z.array(ReportedUsageSchema).max(100);

export function stepTargetRoute(target: StepTarget): string {
  return target.service === 'worker' ? `task-${target.queue}` : target.service;
}

export const RunRequested = defineEvent({
  type: 'run.requested',
  version: 1,
  description: 'A run of a workflow version was requested (schedule, event or operator), with its input and the definition snapshot it keeps.',
  schema: z.object({
    ...run,
    version: z.number().int().positive(),
    hash: z.string().min(1).max(100),
    trigger: z.object({
      kind: z.enum(['schedule', 'event', 'manual']),
      actor: z.string().max(200).optional(),
      eventId: z.string().max(200).optional(),
      eventType: z.string().max(200).optional(),
    }),
    occurrence: z.object({ id: z.string().min(1).max(300), at: when }).optional(),
    input: z.record(z.string(), z.unknown()),
    definition: z.record(z.string(), z.unknown()),
    requestedAt: when,
  }),
});

export const RunQueued = defineEvent({
  type: 'run.queued',
  version: 1,
  description: 'The run was admitted (concurrency and overlap allowed it) and its first steps were queued.',
  schema: z.object({ ...run, queuedAt: when }),
});

export const RunStarted = defineEvent({
  type: 'run.started',
  version: 1,
  description: 'The first step of the run started (or its first approval was requested).',
  schema: z.object({ ...run, startedAt: when }),
});

export const RunAwaitingApproval = defineEvent({
  type: 'run.awaiting_approval',
  version: 1,
  description: 'The run is waiting for a human: at least one of its steps awaits approval.',
  schema: z.object({ ...run, stepIds: z.array(slug).min(1), at: when }),
});

export const RunResumed = defineEvent({
  type: 'run.resumed',
  version: 1,
  description: 'The last pending approval of the run was decided and other steps go on.',
  schema: z.object({ ...run, at: when }),
});

export const RunSucceeded = defineEvent({
  type: 'run.succeeded',
  version: 1,
  description: 'Every step of the run succeeded or was skipped.',
  schema: z.object({ ...run, succeededAt: when, durationMs: z.number().int().nonnegative() }),
});

export const RunFailed = defineEvent({
  type: 'run.failed',
  version: 1,
  description: 'The run can make no more progress: a step failed, timed out or was dead-lettered and nothing else is active.',
  schema: z.object({
    ...run,
    failedSteps: z.array(z.object({ stepId: slug, status: z.string(), error: StepErrorSchema.optional() })).min(1),
    failedAt: when,
    durationMs: z.number().int().nonnegative(),
  }),
});

export const RunCancelled = defineEvent({
  type: 'run.cancelled',
  version: 1,
  description: 'The run was cancelled (by an operator or an overlap policy); its active steps were cancelled first.',
  schema: z.object({ ...run, reason: z.string().max(1000).optional(), actor: z.string().max(200).optional(), cancelledAt: when }),
});

export const RunTimedOut = defineEvent({
  type: 'run.timed_out',
  version: 1,
  description: 'The whole-run timeout elapsed; its active steps were cancelled first.',
  schema: z.object({ ...run, timeoutMs: z.number().int().positive(), timedOutAt: when }),
});

export const RunReopened = defineEvent({
  type: 'run.reopened',
  version: 1,
  description: 'A failed run goes on because an operator requeued one of its dead-lettered steps.',
  schema: z.object({ ...run, stepId: slug, at: when }),
});

export const StepQueued = defineEvent({
  type: 'step.queued',
  version: 1,
  description: 'An attempt of a step was dispatched to its target (collector, transformer, task queue or operators) with its spec and input.',
  schema: z.object({
    ...step,
    version: z.number().int().positive(),
    attempt,
    kind: z.enum(STEP_KINDS),
    target: StepTargetSchema,
    /** The step's kind-specific configuration from the definition (durations in ms). */
    spec: z.record(z.string(), z.unknown()),
    /** The run's inputs and the outputs of the steps this one needs. */
    input: z.object({ inputs: z.record(z.string(), z.unknown()), outputs: z.record(z.string(), z.unknown()) }),
    timeouts: z.object({ startToCloseMs: z.number().int().positive(), heartbeatMs: z.number().int().positive().optional(), scheduleToStartMs: z.number().int().positive().optional() }),
    queuedAt: when,
  }),
  route: (d) => stepTargetRoute(d.target),
});

export const StepStarted = defineEvent({
  type: 'step.started',
  version: 1,
  description: 'A worker picked up an attempt of a step.',
  schema: z.object({ ...step, attempt, worker: z.string().max(200).optional(), startedAt: when }),
});

export const StepSucceeded = defineEvent({
  type: 'step.succeeded',
  version: 1,
  description: 'An attempt of a step succeeded with its outputs (later `when` conditions can read them).',
  schema: z.object({
    ...step,
    attempt,
    outputs: z.record(z.string(), z.unknown()),
    usage: z.record(z.string(), z.number()).optional(),
    reportedUsage: reportedUsage.optional(),
    succeededAt: when,
  }),
});

export const StepFailed = defineEvent({
  type: 'step.failed',
  version: 1,
  description: 'An attempt of a step failed; a retry_scheduled or dead_lettered event follows unless the failure is final.',
  schema: z.object({
    ...step,
    attempt,
    error: StepErrorSchema,
    usage: z.record(z.string(), z.number()).optional(),
    reportedUsage: reportedUsage.optional(),
    failedAt: when,
  }),
});

export const StepTimedOut = defineEvent({
  type: 'step.timed_out',
  version: 1,
  description: 'An attempt of a step (or an approval) ran out of time: schedule-to-start, start-to-close, heartbeat or approval.',
  schema: z.object({
    ...step,
    attempt,
    timeout: z.enum(['schedule_to_start', 'start_to_close', 'heartbeat', 'approval']),
    timedOutAt: when,
  }),
});

export const StepRetryScheduled = defineEvent({
  type: 'step.retry_scheduled',
  version: 1,
  description: 'A failed attempt will be retried after a delay from the retry policy.',
  schema: z.object({ ...step, attempt, nextAttempt: attempt, delayMs: z.number().int().nonnegative(), dueAt: when }),
});

export const StepDeadLettered = defineEvent({
  type: 'step.dead_lettered',
  version: 1,
  description: 'A step spent its retry budget (or failed with a non-retryable error) and waits in the dead-letter queue, with provenance.',
  schema: z.object({
    ...step,
    version: z.number().int().positive(),
    reason: z.enum(['budget_exhausted', 'non_retryable']),
    attempts: z.array(z.object({ attempt, error: StepErrorSchema, failedAt: when })).min(1),
    firstFailureAt: when,
    lastFailureAt: when,
    deadLetteredAt: when,
  }),
});

export const StepSkipped = defineEvent({
  type: 'step.skipped',
  version: 1,
  description: 'A step\'s `when` condition was false (or null), so it was skipped; steps that need it still run.',
  schema: z.object({ ...step, when: z.string(), skippedAt: when }),
});

export const StepCancelled = defineEvent({
  type: 'step.cancelled',
  version: 1,
  description: 'A step that had not finished was cancelled because its run was cancelled or timed out.',
  schema: z.object({ ...step, reason: z.enum(['run_cancelled', 'run_timed_out']), cancelledAt: when }),
});

export const StepRequeued = defineEvent({
  type: 'step.requeued',
  version: 1,
  description: 'An operator requeued a dead-lettered step; it gets a fresh retry budget.',
  schema: z.object({ ...step, actor: z.string().max(200).optional(), reason: z.string().max(1000).optional(), requeuedAt: when }),
});

export const StepDeadLetterDiscarded = defineEvent({
  type: 'step.dead_letter_discarded',
  version: 1,
  description: 'An operator gave up on a dead-lettered step for good (`steward dlq discard`), with the reason; it can no longer be requeued.',
  schema: z.object({ ...step, actor: z.string().max(200).optional(), reason: z.string().min(1).max(1000), discardedAt: when }),
});

export const ApprovalRequested = defineEvent({
  type: 'approval.requested',
  version: 1,
  description: 'A run waits for a human decision on an approval step, until dueAt.',
  schema: z.object({
    ...step,
    approvers: z.array(z.string()).min(1),
    timeoutMs: z.number().int().positive(),
    onTimeout: z.enum(['fail', 'escalate', 'approve']),
    dueAt: when,
    requestedAt: when,
  }),
});

/** Why the approver could decide: named in the step's approvers, member of a listed team, or an admin overriding the list. */
const ApprovalAuthoritySchema = z.discriminatedUnion('via', [
  z.object({ via: z.literal('name') }),
  z.object({ via: z.literal('team'), team: z.string().min(1).max(200) }),
  z.object({ via: z.literal('admin') }),
]);

export const ApprovalGranted = defineEvent({
  type: 'approval.granted',
  version: 1,
  description: 'An approval step was approved, by a person or (onTimeout: approve) automatically at its timeout.',
  schema: z.object({
    ...step,
    approver: z.string().min(1).max(200),
    authority: ApprovalAuthoritySchema.optional(),
    comment: z.string().max(2000).optional(),
    auto: z.boolean(),
    grantedAt: when,
  }),
});

export const ApprovalRejected = defineEvent({
  type: 'approval.rejected',
  version: 1,
  description: 'An approval step was rejected; the step fails for good.',
  schema: z.object({ ...step, approver: z.string().min(1).max(200), authority: ApprovalAuthoritySchema.optional(), comment: z.string().max(2000).optional(), rejectedAt: when }),
});

export const ApprovalEscalated = defineEvent({
  type: 'approval.escalated',
  version: 1,
  description: 'An approval timed out with onTimeout: escalate; it stays open until a second timeout, which fails it.',
  schema: z.object({ ...step, approvers: z.array(z.string()).min(1), dueAt: when, escalatedAt: when }),
});

export const runEvents = [
  RunRequested,
  RunQueued,
  RunStarted,
  RunAwaitingApproval,
  RunResumed,
  RunSucceeded,
  RunFailed,
  RunCancelled,
  RunTimedOut,
  RunReopened,
  StepQueued,
  StepStarted,
  StepSucceeded,
  StepFailed,
  StepTimedOut,
  StepRetryScheduled,
  StepDeadLettered,
  StepSkipped,
  StepCancelled,
  StepRequeued,
  StepDeadLetterDiscarded,
  ApprovalRequested,
  ApprovalGranted,
  ApprovalRejected,
  ApprovalEscalated,
];
