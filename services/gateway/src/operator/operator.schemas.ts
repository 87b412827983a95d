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

export const WaitQuery = z.strictObject({ timeout: Duration.optional() });

const IsoTime = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-05-01T00:00:00Z' });
const TRANSFORM_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const StartReplayBody = z
  .strictObject({
    source: Id.optional(),
    workflow: Id.optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    transform: z.string().regex(TRANSFORM_REF, 'expected NAME@VERSION, e.g. supplier-prices@2'),
    dryRun: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.source === undefined) === (b.workflow === undefined)) {
      ctx.addIssue({ code: 'custom', path: b.source === undefined ? [] : ['workflow'], message: 'give exactly one of source, workflow' });
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
