import { z } from 'zod';
import { Duration, Id, PageQuery, Reason } from '../http/api.schemas';

export const IdParams = z.strictObject({ id: Id });
export const ApprovalParams = z.strictObject({ run: Id, step: Id });
export const BudgetParams = z.strictObject({ scope: z.enum(['workflow', 'owner']), id: Id });

export const ReasonBody = z.strictObject({ reason: Reason.optional().meta({ description: 'why; recorded in the timeline' }) });
export const RequiredReasonBody = z.strictObject({ reason: Reason.meta({ description: 'why; recorded in the timeline' }) });
export const CommentBody = z.strictObject({ comment: Reason.optional().meta({ description: 'recorded with the decision' }) });

/** A YAML document applied by its owning service, which validates it and names every path at fault. */
export const YamlBody = z.strictObject({
  yaml: z.string().min(1, 'must not be empty'),
  file: z.string().max(500).optional().meta({ description: 'the file name, for messages' }),
});

export const StartRunBody = z.strictObject({
  workflow: Id,
  input: z.unknown().optional().meta({ description: 'run input (JSON)' }),
});

export const RunsQuery = PageQuery.extend({
  workflow: Id.optional(),
  status: z.string().regex(/^[a-z_]{1,40}$/, 'expected a status such as running, failed, succeeded').optional(),
});

/** Which dead letters: every given field must match; an empty filter matches all of them. */
export const DlqFilter = z.strictObject({
  workflow: Id.optional().meta({ description: 'workflow id' }),
  step: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a step id (lower-case letters, digits, _ and -)').optional().meta({ description: 'step id' }),
  code: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'expected an error code such as http_503')
    .optional()
    .meta({ description: 'error code of the last failed attempt' }),
  since: Duration.optional().meta({ description: 'dead-lettered within this long (e.g. 24h)' }),
});
export type DlqFilter = z.output<typeof DlqFilter>;

export const DlqQuery = PageQuery.extend(DlqFilter.shape);

/** At most this many dead letters a bulk request touches; the answer says `truncated` when more matched. */
export const MAX_BULK_DEAD_LETTERS = 500;

const bulkDlqBody = <R extends z.ZodType<string | undefined>>(reason: R) =>
  z
    .strictObject({
      filter: DlqFilter.default({}).meta({ description: 'which open dead letters; at least one field unless all is true' }),
      all: z.boolean().optional().meta({ description: 'true to act on every open dead letter when the filter is empty' }),
      reason,
    })
    .superRefine((b, ctx) => {
      if (b.all !== true && Object.values(b.filter).every((v) => v === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['filter'], message: 'give at least one of workflow, step, code, since (or all: true for every dead letter)' });
      }
    });

export const BulkRequeueBody = bulkDlqBody(Reason.optional().meta({ description: 'why; recorded in the timeline' }));
export const BulkDiscardBody = bulkDlqBody(Reason.meta({ description: 'why; recorded in the timeline' }));

/** 200 answer of a bulk dead-letter request. */
export const BulkDlqOutcomeSchema = z.looseObject({
  matched: z.number().int(),
  requeued: z.number().int().optional(),
  discarded: z.number().int().optional(),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
  truncated: z.boolean(),
  commandId: z.string().optional(),
});

export const WaitQuery = z.strictObject({ timeout: Duration.optional() });

const IsoTime = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-05-01T00:00:00Z' });
const TRANSFORM_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The services that rebuild their projections from a replay (each runs a
 * ProjectionRebuildRunner, docs/replays.md). Any other name would be
 * published to nobody and still read "completed", with no verdict ever.
 */
const REBUILDABLE_SERVICES = ['ledger', 'scheduler', 'executor', 'transformer', 'alerter', 'cost-tracker'] as const;
const EVENT_TYPE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/**
 * A backfill (`source` or `workflow`, with `transform`) re-runs raw captures
 * through a transform version; a rebuild (`rebuild: SERVICE`, optionally
 * `types`) re-publishes stored events for a service to rebuild its
 * projections from. Exactly one of source, workflow, rebuild.
 */
export const StartReplayBody = z
  .strictObject({
    source: Id.optional().meta({ description: 'backfill the captures of this source' }),
    workflow: Id.optional().meta({ description: "backfill the captures of this workflow's collect steps" }),
    rebuild: z.enum(REBUILDABLE_SERVICES, { error: `expected a service that rebuilds its projections: ${REBUILDABLE_SERVICES.join(', ')}` }).optional().meta({ description: 'rebuild: re-publish stored events for this service' }),
    types: z.array(z.string().regex(EVENT_TYPE, 'expected an event type <category>.<name>')).min(1).max(500).optional().meta({ description: 'rebuild only: the event types to re-publish (default all)' }),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    transform: z.string().regex(TRANSFORM_REF, 'expected NAME@VERSION, e.g. supplier-prices@2').optional().meta({ description: 'backfill only: the transform version to run' }),
    dryRun: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    const given = (['source', 'workflow', 'rebuild'] as const).filter((k) => b[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: given.length === 0 ? [] : [given[1]!], message: 'give exactly one of source, workflow, rebuild' });
    }
    if (b.rebuild === undefined && b.transform === undefined) {
      ctx.addIssue({ code: 'custom', path: ['transform'], message: 'required for a backfill (source or workflow)' });
    }
    if (b.rebuild !== undefined && b.transform !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['transform'], message: 'a rebuild re-publishes events unchanged; it takes no transform' });
    }
    if (b.rebuild === undefined && b.types !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['types'], message: 'only a rebuild selects event types' });
    }
    if (b.from !== undefined && b.to !== undefined && Date.parse(b.from) >= Date.parse(b.to)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' });
    }
  });

export const AlertsQuery = PageQuery.extend({ state: z.enum(['firing', 'acknowledged', 'resolved']).optional() });

export const SilenceBody = z.strictObject({
  matchers: z
    .array(z.strictObject({ name: z.string().min(1).max(100), value: z.string().min(1).max(500) }))
    .min(1, 'give at least one matcher')
    .max(20),
  durationSeconds: z.number().int().positive().max(90 * 24 * 3600, 'at most 90 days'),
  comment: Reason.optional(),
});

export const CostReportQuery = PageQuery.extend({
  by: z.enum(['workflow', 'owner', 'service', 'step']),
  since: Duration.optional(),
});

export const BudgetBody = z.strictObject({
  monthlyUsd: z.number().positive().max(1e9),
  thresholds: z.array(z.number().positive().max(10)).max(10).optional().meta({ description: 'fractions of the budget to alert at, e.g. [0.5, 0.8, 1]' }),
});

export const OpsReportQuery = z.strictObject({ since: Duration.optional() });

/** 200 answer of a command: the outcome event's data, plus where it was recorded. */
export const CommandOutcomeSchema = z.looseObject({
  commandId: z.string(),
  event: z.object({ id: z.string(), type: z.string(), streamId: z.string() }),
});
