import { z } from 'zod';

/** Listing routes all page the same way: an opaque cursor from the previous page and a page size. */
export const PageQuery = z.strictObject({
  cursor: z.string().min(1).max(1000).optional(),
  limit: z.coerce.number().int().min(1, 'expected 1..1000').max(1000, 'expected 1..1000').optional(),
});

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      context: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ description: 'Every error the API answers with' });

/** 202: the owning service took the command but did not record an outcome in time. */
export const PendingSchema = z
  .object({ status: z.literal('pending'), commandId: z.string(), service: z.string() })
  .meta({ description: 'The owning service did not record an outcome in time; the command stays queued' });

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The single-unit durations the CLI also accepts: 30s, 5m, 1h, 30d. */
export const Duration = z
  .string()
  .regex(/^[1-9]\d*(s|m|h|d)$/, 'expected a duration like 30s, 5m, 1h, 30d')
  .meta({ description: 'NUMBER followed by s, m, h or d' });

export function durationMs(text: string): number {
  const [, n, unit] = DURATION.exec(text)!;
  return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

/** An id in a path: what other services use for runs, workflows, alerts and dead letters. */
export const Id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'expected letters, digits and . _ : @ - only');

export const Reason = z.string().trim().min(1, 'must not be empty').max(2000);
