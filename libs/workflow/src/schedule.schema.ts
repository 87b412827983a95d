import { z } from 'zod';
import { cronError, isValidTimeZone } from './cron.pattern';
import { formatDuration } from './duration.parse';
import { duration, exactlyOne, isPlainRecord, PARSE_OPTIONS, positiveInt, snakeEnum, text } from './workflow.fields';

// `schedule:` in a workflow file, one of four kinds told apart by their key:
// { cron } | { every } | { on } | { at }.

export const CATCHUP_POLICIES = ['skip', 'latest', 'all'] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_previous', 'allow'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Bounds what one catch-up can release after an outage, whatever a file asks. */
export const MAX_CATCHUP_CAP = 1000;

export interface CronSchedule {
  kind: 'cron';
  cron: string;
  timezone: string;
  catchup: CatchupPolicy;
  catchupCap: number;
  overlap: OverlapPolicy;
  jitterMs?: number;
}

/** Occurrences at `phaseMs + k * everyMs` after the Unix epoch (UTC), so every replica agrees on them. */
export interface IntervalSchedule {
  kind: 'interval';
  everyMs: number;
  phaseMs: number;
  catchup: CatchupPolicy;
  catchupCap: number;
  overlap: OverlapPolicy;
  jitterMs?: number;
}

export type Scalar = string | number | boolean | null;

/** Runs on each stored event of type `on` whose data matches every `where` field (dotted paths). */
export interface EventSchedule {
  kind: 'event';
  on: string;
  where: Record<string, Scalar>;
  overlap: OverlapPolicy;
}

export interface OnceSchedule {
  kind: 'once';
  /** ISO 8601 instant, normalised to UTC. */
  at: string;
}

export type Schedule = CronSchedule | IntervalSchedule | EventSchedule | OnceSchedule;

const catchup = z.enum(CATCHUP_POLICIES, { error: `expected one of ${CATCHUP_POLICIES.join(', ')}` }).default('latest');
const catchupCap = positiveInt(MAX_CATCHUP_CAP).default(10);
const overlap = snakeEnum(OVERLAP_POLICIES);

const cronSchema = z
  .strictObject({
    cron: z.string({ error: 'expected a cron pattern such as "*/15 * * * *"' }).superRefine((pattern, ctx) => {
      const problem = cronError(pattern);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `cannot parse cron pattern: ${problem}` });
    }),
    timezone: z
      .string({ error: 'expected an IANA time zone such as Europe/Berlin' })
      .refine(isValidTimeZone, { error: 'expected an IANA time zone such as Europe/Berlin' })
      .default('UTC'),
    catchup,
    catchupCap,
    overlap: overlap.default('skip'),
    jitter: duration.optional(),
  })
  .transform(
    (s): CronSchedule => ({
      kind: 'cron',
      cron: s.cron,
      timezone: s.timezone,
      catchup: s.catchup,
      catchupCap: s.catchupCap,
      overlap: s.overlap,
      ...(s.jitter !== undefined && { jitterMs: s.jitter }),
    }),
  );

const intervalSchema = z
  .strictObject({
    every: duration,
    phase: duration.optional(),
    catchup,
    catchupCap,
    overlap: overlap.default('skip'),
    jitter: duration.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.phase !== undefined && s.phase >= s.every) {
      ctx.addIssue({
        code: 'custom',
        path: ['phase'],
        message: `expected a phase shorter than the interval (${formatDuration(s.every)}), got ${formatDuration(s.phase)}`,
      });
    }
  })
  .transform(
    (s): IntervalSchedule => ({
      kind: 'interval',
      everyMs: s.every,
      phaseMs: s.phase ?? 0,
      catchup: s.catchup,
      catchupCap: s.catchupCap,
      overlap: s.overlap,
      ...(s.jitter !== undefined && { jitterMs: s.jitter }),
    }),
  );

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a string, number, boolean or null' });

const eventSchema = z
  .strictObject({
    on: text('an event type such as collection.raw_captured', 200).regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, {
      error: 'expected an event type such as collection.raw_captured',
    }),
    where: z.record(z.string(), scalar, { error: 'expected a map of field: value' }).default({}),
    overlap: overlap.default('allow'),
  })
  .transform((s): EventSchedule => ({ kind: 'event', on: s.on, where: s.where, overlap: s.overlap }));

const onceSchema = z
  .strictObject({
    at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a zone, such as 2026-12-01T09:00:00Z' }),
  })
  .transform((s): OnceSchedule => ({ kind: 'once', at: new Date(s.at).toISOString() }));

const KINDS = { cron: cronSchema, every: intervalSchema, on: eventSchema, at: onceSchema } as const;
const KIND_KEYS = Object.keys(KINDS);

/**
 * Picks the kind by its key and validates against that kind alone, so an
 * error says "timezone: ..." rather than "no union member matched".
 */
export const scheduleSchema = z.unknown().transform((value, ctx): Schedule => {
  if (!isPlainRecord(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected a map with one of cron, every, on, at', input: value });
    return z.NEVER;
  }
  const kind = exactlyOne(value, KIND_KEYS, ctx) as keyof typeof KINDS | undefined;
  if (kind === undefined) return z.NEVER;
  const parsed = KINDS[kind].safeParse(value, PARSE_OPTIONS);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});
