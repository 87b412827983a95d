import { z } from 'zod';
import { defineEvent } from './registry';

// What the scheduler decides about time: a run is wanted now (by a schedule,
// an event trigger or an operator), or a scheduled occurrence was let go by
// its catchup policy. The executor turns `schedule.run_requested` into a run;
// overlap and concurrency are its call, because it knows the run states.

const workflowId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a workflow id (lowercase slug)');
const when = z.iso.datetime({ offset: true });

/** `<workflowId>@<nominal ISO instant>`: the idempotency key of a scheduled run. */
const Occurrence = z.object({ id: z.string().min(1).max(300), at: when });

export const ScheduleRunRequested = defineEvent({
  type: 'schedule.run_requested',
  version: 1,
  description:
    'The scheduler wants a run of a workflow version (schedule occurrence, event trigger or operator start), with the definition snapshot, the run id and the input.',
  schema: z.object({
    workflowId,
    version: z.number().int().positive(),
    hash: z.string().min(1).max(100),
    definition: z.record(z.string(), z.unknown()),
    /** Deterministic for schedule occurrences and event triggers, so a second request starts nothing. */
    runId: z.string().min(1).max(200),
    trigger: z.object({
      kind: z.enum(['schedule', 'event', 'manual']),
      actor: z.string().max(200).optional(),
      eventId: z.string().max(200).optional(),
      eventType: z.string().max(200).optional(),
    }),
    occurrence: Occurrence.optional(),
    input: z.record(z.string(), z.unknown()),
    requestedAt: when,
  }),
});

export const MISSED_REASONS = ['catchup_skip', 'catchup_latest', 'catchup_cap'] as const;

export const ScheduleOccurrenceMissed = defineEvent({
  type: 'schedule.occurrence_missed',
  version: 1,
  description:
    'A scheduled occurrence passed while the scheduler was down or the workflow paused, and its catchup policy (or cap) let it go without a run.',
  schema: z.object({
    workflowId,
    version: z.number().int().positive(),
    occurrence: Occurrence,
    catchup: z.enum(['skip', 'latest', 'all']),
    reason: z.enum(MISSED_REASONS),
    detectedAt: when,
  }),
});

export const scheduleEvents = [ScheduleRunRequested, ScheduleOccurrenceMissed];
