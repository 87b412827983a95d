import { z } from 'zod';

const alertId = z.string().min(1).max(200);
const reason = z.string().min(1).max(2000);

export const AlertDecisionPayload = z.strictObject({ alertId, reason: reason.optional() });

export const CreateSilencePayload = z
  .strictObject({
    matchers: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,99}$/, 'expected a label name'),
          value: z.string().min(1).max(500),
          isRegex: z.boolean().optional(),
          isEqual: z.boolean().optional(),
        }),
      )
      .min(1, 'give at least one matcher')
      .max(20),
    durationSeconds: z.number().int().positive().max(90 * 24 * 3600, 'at most 90 days'),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    comment: reason.optional(),
  })
  .superRefine((p, ctx) => {
    p.matchers.forEach((m, i) => {
      if (!m.isRegex) return;
      try {
        new RegExp(m.value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['matchers', i, 'value'], message: `invalid regular expression: ${(err as Error).message}` });
      }
    });
  });

export const ExpireSilencePayload = z.strictObject({ silenceId: z.string().min(1).max(200), reason: reason.optional() });

export const ApplyRulesPayload = z.strictObject({ yaml: z.string().min(1, 'must not be empty'), file: z.string().max(500).optional() });
