import { z } from 'zod';
import { RawCaptured, ReplayIdSchema, SourceNameSchema, TransformRefSchema } from '@steward/contracts';

const when = z.iso.datetime({ offset: true });
const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase slug');
const serviceName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a service name such as scheduler');
const eventType = z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, 'expected an event type <category>.<name>');

/** Backfills re-run transformations over raw captures; nothing else is selected. */
export const BACKFILL_TYPES = [RawCaptured.type];

function checkRange(b: { from?: string | undefined; to?: string | undefined }, ctx: z.RefinementCtx): void {
  if (b.from !== undefined && b.to !== undefined && Date.parse(b.from) >= Date.parse(b.to)) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: `must be before to (${b.to})` });
  }
}

/** `steward replay start (--source S | --workflow W) [--from T] [--to T] --transform NAME@VERSION [--dry-run]`. */
export const BackfillPayload = z
  .strictObject({
    source: SourceNameSchema.optional(),
    workflow: slug.optional(),
    from: when.optional(),
    to: when.optional(),
    transform: TransformRefSchema,
    dryRun: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.source === undefined) === (b.workflow === undefined)) {
      ctx.addIssue({ code: 'custom', path: b.source === undefined ? ['source'] : ['workflow'], message: 'give exactly one of source, workflow' });
    }
    checkRange(b, ctx);
  });

/** `steward replay start --rebuild SERVICE`: every stored event (or the listed types) for SERVICE to rebuild its projections from. */
export const RebuildPayload = z
  .strictObject({
    rebuild: serviceName,
    types: z.array(eventType).min(1).max(500).optional(),
    from: when.optional(),
    to: when.optional(),
    dryRun: z.boolean().optional(),
  })
  .superRefine(checkRange);

export type StartReplay = { kind: 'backfill'; payload: z.output<typeof BackfillPayload> } | { kind: 'rebuild'; payload: z.output<typeof RebuildPayload> };

/** A payload with `rebuild` is a rebuild; anything else is read as a backfill, so its errors name the backfill's fields. */
export function startReplaySchema(payload: unknown): typeof BackfillPayload | typeof RebuildPayload {
  return payload !== null && typeof payload === 'object' && 'rebuild' in payload ? RebuildPayload : BackfillPayload;
}

export const CancelReplayPayload = z.strictObject({
  replayId: ReplayIdSchema,
  reason: z.string().min(1).max(1000).optional(),
});
