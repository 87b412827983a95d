import { z } from 'zod';
import { ReportedUsageSchema, StepErrorSchema, TOKEN_ROLES } from '@steward/contracts';

// Payloads of the commands the executor takes (docs/execution-contract.md).
// Unknown fields are tolerated so a newer sender does not break an older
// executor; missing or malformed ones are rejected with their path.

const runId = z.string().min(1).max(200);
const stepId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a step id');
const attempt = z.number().int().positive();
const text = (max: number) => z.string().trim().min(1).max(max);

export const CancelRunPayload = z.object({ runId, reason: text(1000).optional() });

/** `approver`: the caller's teams and role as the gateway authenticated them; checked against the step's approvers. */
export const ApprovalDecisionPayload = z.object({
  runId,
  stepId,
  comment: text(2000).optional(),
  approver: z.object({ teams: z.array(text(100)).max(50).default([]), role: z.enum(TOKEN_ROLES) }).optional(),
});

/** `id` is `<runId>:<stepId>` (a run id may hold colons, a step id cannot); the gateway sends it as `deadLetterId`. */
const DeadLetterId = z.object({ id: z.string().min(3).max(300).optional(), deadLetterId: z.string().min(3).max(300).optional() });

function splitDeadLetterId<T extends z.infer<typeof DeadLetterId>>(p: T, ctx: z.RefinementCtx): T & { id: string; runId: string; stepId: string } {
  const id = p.id ?? p.deadLetterId ?? '';
  const cut = id.lastIndexOf(':');
  const [runPart, stepPart] = [id.slice(0, cut), id.slice(cut + 1)];
  if (cut <= 0 || !stepId.safeParse(stepPart).success) ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected the dead letter id <runId>:<stepId>' });
  return { ...p, id, runId: runPart, stepId: stepPart };
}

export const RequeueDeadLetterPayload = DeadLetterId.extend({ reason: text(1000).optional() }).transform(splitDeadLetterId);
export const DiscardDeadLetterPayload = DeadLetterId.extend({ reason: text(1000) }).transform(splitDeadLetterId);

/** At most this many dead letters in one bulk command; the gateway sends more as further commands. */
export const MAX_BULK_DEAD_LETTERS = 500;

const deadLetterId = z
  .string()
  .min(3)
  .max(300)
  .refine((id) => {
    const cut = id.lastIndexOf(':');
    return cut > 0 && stepId.safeParse(id.slice(cut + 1)).success;
  }, 'expected the dead letter id <runId>:<stepId>');

const deadLetterIds = z
  .array(deadLetterId)
  .min(1, 'give at least one dead letter id')
  .max(MAX_BULK_DEAD_LETTERS, `at most ${MAX_BULK_DEAD_LETTERS} dead letters a command`)
  .refine((ids) => new Set(ids).size === ids.length, 'each dead letter id at most once');

/** Bulk forms: each id goes the single command's way (requeue_dead_letter / discard_dead_letter). */
export const RequeueDeadLettersPayload = z.object({ ids: deadLetterIds, reason: text(1000).optional() });
export const DiscardDeadLettersPayload = z.object({ ids: deadLetterIds, reason: text(1000) });

export const StepStartedPayload = z.object({ runId, stepId, attempt, workerId: z.string().min(1).max(200).optional() });

export const HeartbeatPayload = z.object({ runId, stepId, attempt });

export const StepResultPayload = z.object({
  runId,
  stepId,
  attempt,
  outcome: z.discriminatedUnion('status', [
    z.object({ status: z.literal('succeeded'), outputs: z.record(z.string(), z.unknown()).default({}) }),
    z.object({ status: z.literal('failed'), error: StepErrorSchema }),
  ]),
  usage: z.object({ cpuMs: z.number().nonnegative(), maxRssKb: z.number().nonnegative(), wallMs: z.number().nonnegative() }).partial().optional(),
  reportedUsage: z.array(ReportedUsageSchema).max(100).optional(),
});
