import { z } from 'zod';
import { defineEvent } from './registry';

const workflowId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a workflow id (lowercase slug)');
const when = z.iso.datetime({ offset: true });

/**
 * A workflow file was applied and differed from the current version (an
 * unchanged file is a no-op, judged by `hash`). `definition` is the
 * normalised definition from @steward/workflow (durations in ms, defaults
 * filled in): runs snapshot it, so a run keeps the version it started with.
 * Owner, runbook, budget and slo are lifted out for the alerting and cost
 * services, which should not have to understand the definition.
 */
export const WorkflowApplied = defineEvent({
  type: 'workflow.applied',
  version: 1,
  description: 'A new version of a workflow definition was applied, with its content hash, owner, runbook, budget and SLO.',
  schema: z.object({
    id: workflowId,
    version: z.number().int().positive(),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha-256 hex digest'),
    definition: z.record(z.string(), z.unknown()),
    owner: z.string().min(1).max(100),
    runbook: z.string().min(1).max(500),
    budget: z.object({ monthlyUsd: z.number().nonnegative() }).optional(),
    slo: z
      .object({
        successRate: z.number().min(0).max(1).optional(),
        freshnessMs: z.number().int().positive().optional(),
      })
      .optional(),
    file: z.string().max(500).optional(),
    appliedAt: when,
  }),
});

export const WorkflowPaused = defineEvent({
  type: 'workflow.paused',
  version: 1,
  description: 'A workflow was paused: no new scheduled or triggered runs until it is resumed; running runs go on.',
  schema: z.object({
    id: workflowId,
    reason: z.string().max(1000).optional(),
    pausedAt: when,
  }),
});

export const WorkflowResumed = defineEvent({
  type: 'workflow.resumed',
  version: 1,
  description: 'A paused workflow was resumed; occurrences missed while paused follow its catchup policy.',
  schema: z.object({
    id: workflowId,
    resumedAt: when,
  }),
});

export const workflowEvents = [WorkflowApplied, WorkflowPaused, WorkflowResumed];
