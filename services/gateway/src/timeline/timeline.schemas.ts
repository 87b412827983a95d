import { z } from 'zod';
import { Duration, Id } from '../http/api.schemas';
import { TimelineMarkerValues } from './timeline-entry.mapper';

const SELECTORS = ['run', 'correlation', 'workflow', 'alert'] as const;
export type SelectorKind = (typeof SELECTORS)[number];

const selectorFields = {
  run: Id.optional().meta({ description: 'everything that happened to this run' }),
  correlation: z.string().min(1).max(200).optional().meta({ description: 'everything sharing this correlation id' }),
  workflow: Id.optional().meta({ description: 'everything that happened to this workflow (see since)' }),
  alert: Id.optional().meta({ description: 'the events of stream alert-<id> and everything correlated with the alert' }),
  since: Duration.optional().meta({ description: 'with workflow only: how far back' }),
};

/** Exactly one selector; `since` only narrows a workflow (a run or an alert is bounded already). */
function oneSelector(q: Partial<Record<SelectorKind | 'since', unknown>>, ctx: z.RefinementCtx): void {
  const given = SELECTORS.filter((k) => q[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: given.length === 0 ? [] : [given[1]!],
      message: given.length === 0 ? 'give exactly one of run, correlation, workflow, alert' : `give exactly one of run, correlation, workflow, alert, not ${given.join(' and ')}`,
    });
  }
  if (q.since !== undefined && given.length === 1 && given[0] !== 'workflow') {
    ctx.addIssue({ code: 'custom', path: ['since'], message: 'only with workflow' });
  }
}

export const TimelineQuery = z
  .strictObject({
    ...selectorFields,
    cursor: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1, 'expected 1..1000').max(1000, 'expected 1..1000').optional(),
  })
  .superRefine(oneSelector);

export const TimelineStreamQuery = z
  .strictObject({
    ...selectorFields,
    after: z
      .string()
      .regex(/^\d{1,19}$/, 'expected the position of an entry of this timeline')
      .optional()
      .meta({ description: 'continue after the entry at this position (the last one a listing showed)' }),
  })
  .superRefine(oneSelector);

export const TimelineEntrySchema = z.object({
  id: z.string(),
  position: z.number().int(),
  time: z.string(),
  service: z.string(),
  type: z.string(),
  streamId: z.string(),
  actor: z.string().nullable(),
  summary: z.string(),
  causationId: z.string().nullable(),
  correlationId: z.string().nullable(),
  data: z.unknown(),
  marker: z.enum(TimelineMarkerValues).optional(),
});

export const TimelinePageSchema = z.object({ items: z.array(TimelineEntrySchema), next: z.string().optional() });
