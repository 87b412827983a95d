import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';
import { parseCapacity } from './domain/capacity.forecast';
import { isTimeZone } from './domain/month.period';
import type { Threshold } from './domain/budget.evaluate';

/** `actual:50%,forecast:100%,actual:$25` -> thresholds (percent of the budget, or an absolute USD amount). */
export function parseThresholds(text: string): Threshold[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((raw) => {
      const m = /^(actual|forecast):(?:(\d+(?:\.\d+)?)%|\$(\d+(?:\.\d{1,6})?))$/.exec(raw);
      if (!m) throw new Error(`"${raw}" is not <actual|forecast>:<percent>% or <actual|forecast>:$<usd>`);
      const kind = m[1] as Threshold['kind'];
      if (m[2] !== undefined) return { kind, percent: Number(m[2]) };
      const [int, frac = ''] = m[3]!.split('.');
      return { kind, amountMicros: (BigInt(int!) * 1_000_000n + BigInt(frac.padEnd(6, '0'))).toString() };
    });
}

const CostConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8087),
  /** IANA zone whose calendar months budgets run on (and whose local days the forecast counts). */
  COST_TIMEZONE: z.string().refine(isTimeZone, 'expected an IANA time zone such as Europe/Berlin').default('UTC'),
  /** Environment every cost record of this deployment is attributed to. */
  COST_ENVIRONMENT: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase slug').default('default'),
  /**
   * Events handled at once (the consumer's max_ack_pending is twice this);
   * they share transactions of up to COST_BATCH_MAX events, so it should
   * cover COST_BATCH_PARALLEL full batches plus the next ones forming.
   */
  COST_EVENT_CONCURRENCY: intFromEnv(2000),
  COST_BATCH_MAX: intFromEnv(500),
  /** How long a lone event waits for others to share its transaction. */
  COST_BATCH_WAIT_MS: z.coerce.number().int().nonnegative().default(2),
  /** Batch transactions in flight at once: a second one reads and copies while the first holds the counter rows. */
  COST_BATCH_PARALLEL: intFromEnv(2),
  COST_COMMAND_CONCURRENCY: intFromEnv(4),
  COST_DB_POOL_SIZE: intFromEnv(8),
  COST_ACK_WAIT_MS: intFromEnv(30_000),
  /** Thresholds of budgets that do not name their own. */
  COST_DEFAULT_THRESHOLDS: z
    .string()
    .default('forecast:100%,actual:50%,actual:80%,actual:100%')
    .transform((s, ctx) => {
      try {
        const t = parseThresholds(s);
        if (t.length === 0) throw new Error('list at least one threshold');
        return t;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** The forecast divides by at least this much elapsed month, so the first record of a month does not project a fortune. */
  COST_FORECAST_MIN_ELAPSED_HOURS: intFromEnv(24),
  /** Workers per task queue, e.g. `default=4,gpu=1`; queues not listed have no utilisation. */
  COST_WORKER_CAPACITY: z
    .string()
    .default('')
    .transform((s, ctx) => {
      try {
        return parseCapacity(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Utilisation of the busiest forecast hour the recommended replica count aims for. */
  COST_TARGET_UTILISATION: z.coerce.number().gt(0).max(1).default(0.7),
  /** Weeks of history the capacity forecast averages. */
  COST_CAPACITY_WEEKS: intFromEnv(4),
  /** How often the capacity plan and its gauges are refreshed; 0 turns it off. */
  COST_CAPACITY_REFRESH_MS: z.coerce.number().int().nonnegative().default(60_000),
  /** How often presence is sampled for the ops report's uptime; 0 turns it off. */
  COST_UPTIME_SAMPLE_MS: z.coerce.number().int().nonnegative().default(60_000),
  /** Services expected to run: absent from presence, they count as down. */
  COST_UPTIME_SERVICES: z
    .string()
    .regex(/^([a-z][a-z0-9-]*)(,[a-z][a-z0-9-]*)*$/, 'comma-separated service names')
    .default('scheduler,executor,collector,transformer,alerter,cost-tracker,ledger,gateway')
    .transform((s) => s.split(',')),
});

export type CostConfig = z.infer<typeof CostConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): CostConfig {
  return parseConfig(CostConfigSchema, env);
}
