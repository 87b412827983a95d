import { z } from 'zod';
import { defineEvent } from './registry';

// Replays, owned by the ledger (stream `replay-<replayId>`). The ledger
// re-publishes the selected stored events, unchanged, onto
// `steward.replay.<replayId>.<type>` for one consumer; the consumer records
// what it made of them (e.g. transformation.replay_completed).

const when = z.iso.datetime({ offset: true });
export const ReplayIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{2,63}$/, 'expected a replay id (lowercase letters, digits, dashes)');
export const TransformRefSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,62}@[1-9][0-9]{0,8}$/, 'expected NAME@VERSION, e.g. supplier-prices@2');

/** A frozen end position: a replay covers what was committed when it started, so it always ends. */
const StoreCursor = z.object({ transactionId: z.string().regex(/^[0-9]+$/), position: z.string().regex(/^[0-9]+$/) });

export const ReplaySelectionSchema = z.object({
  types: z.array(z.string().min(3).max(200)).min(1),
  source: z.string().max(200).optional(),
  workflowId: z.string().max(200).optional(),
  from: when.optional(),
  to: when.optional(),
});
export type ReplaySelection = z.infer<typeof ReplaySelectionSchema>;

export const ReplayStarted = defineEvent({
  type: 'replay.started',
  version: 1,
  description: 'A replay was accepted: what it selects, which consumer takes it (and the transform version for a backfill), how many events it covers and where in the store it stops.',
  schema: z.object({
    replayId: ReplayIdSchema,
    kind: z.enum(['backfill', 'rebuild']),
    selection: ReplaySelectionSchema,
    /** The service that consumes `steward.replay.<replayId>.>`. */
    consumer: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    transform: TransformRefSchema.optional(),
    dryRun: z.boolean(),
    total: z.number().int().nonnegative(),
    upTo: StoreCursor,
    requestedBy: z.string().max(200).optional(),
    startedAt: when,
  }),
});

export const ReplayProgressed = defineEvent({
  type: 'replay.progressed',
  version: 1,
  description: 'The ledger published more of a replay onto its subject (progress is an event so `replay status` survives restarts).',
  schema: z.object({ replayId: ReplayIdSchema, published: z.number().int().nonnegative(), total: z.number().int().nonnegative(), cursor: StoreCursor, at: when }),
});

export const ReplayPublished = defineEvent({
  type: 'replay.published',
  version: 1,
  description: 'Every selected event of a replay is on its subject; the consumer finishes from here.',
  schema: z.object({ replayId: ReplayIdSchema, published: z.number().int().nonnegative(), total: z.number().int().nonnegative(), durationMs: z.number().int().nonnegative(), at: when }),
});

export const ReplayFailed = defineEvent({
  type: 'replay.failed',
  version: 1,
  description: 'A replay stopped for good, with the reason.',
  schema: z.object({ replayId: ReplayIdSchema, error: z.object({ code: z.string().min(1).max(100), message: z.string().max(4000) }), at: when }),
});

export const replayEvents = [ReplayStarted, ReplayProgressed, ReplayPublished, ReplayFailed];
