import { z } from 'zod';
import { defineEvent } from './registry';
import { TransformRefSchema } from './replay.events';

// The transformer's events. A transform `name@version` turns one raw capture
// into rows of dataset `<dataset>` version `<datasetVersion>`; rows are
// upserted by natural key, invalid rows quarantined with their reason.

const when = z.iso.datetime({ offset: true });
const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase slug');
const count = z.number().int().nonnegative();
const origin = {
  workflowId: slug.optional(),
  runId: z.string().min(1).max(200).optional(),
  stepId: slug.optional(),
  /** Set when the capture came through a replay (backfill) rather than live. */
  replayId: z.string().max(64).optional(),
};

export const RowCountsSchema = z.object({ rows: count, upserted: count, unchanged: count, quarantined: count });
export type RowCounts = z.infer<typeof RowCountsSchema>;

export const TransformationCompleted = defineEvent({
  type: 'transformation.completed',
  version: 1,
  description: 'A capture went through a transform version into a dataset version, with counts of rows upserted, unchanged and quarantined.',
  schema: z.object({
    transform: TransformRefSchema,
    dataset: slug,
    datasetVersion: z.number().int().positive(),
    captureId: z.uuid(),
    source: z.string().max(200),
    ...origin,
    dryRun: z.boolean().optional(),
    counts: RowCountsSchema,
    durationMs: z.number().int().nonnegative(),
    completedAt: when,
  }),
});

export const TransformationFailed = defineEvent({
  type: 'transformation.failed',
  version: 1,
  description: 'A whole capture could not be transformed (unknown transform, unreadable body); row-level problems are quarantined instead.',
  schema: z.object({
    transform: TransformRefSchema,
    captureId: z.uuid(),
    ...origin,
    error: z.object({ code: z.string().min(1).max(100), message: z.string().max(4000), retryable: z.boolean() }),
    failedAt: when,
  }),
});

export const TransformationReplayCompleted = defineEvent({
  type: 'transformation.replay_completed',
  version: 1,
  description: 'The transformer applied every capture of a replay into the new dataset version; totals for `replay status` and `replay diff`.',
  schema: z.object({
    replayId: z.string().max(64),
    transform: TransformRefSchema,
    dataset: slug,
    datasetVersion: z.number().int().positive(),
    dryRun: z.boolean(),
    captures: count,
    counts: RowCountsSchema,
    completedAt: when,
  }),
});

export const DatasetVersionPromoted = defineEvent({
  type: 'dataset.version_promoted',
  version: 1,
  description: 'An operator made a dataset version current.',
  schema: z.object({
    dataset: slug,
    version: z.number().int().positive(),
    previousVersion: z.number().int().positive().optional(),
    actor: z.string().max(200),
    reason: z.string().max(1000).optional(),
    promotedAt: when,
  }),
});

export const transformationEvents = [TransformationCompleted, TransformationFailed, TransformationReplayCompleted, DatasetVersionPromoted];
