import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';

const ratio = (def: number) => z.coerce.number().gt(0).lt(10).default(def);

const AlerterConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8086),
  /**
   * Events handled at once (and the consumer's max_ack_pending); they share
   * ingest transactions of up to ALERTER_BATCH_MAX events. Twice the batch
   * lets the next batch fill while one is written.
   */
  ALERTER_EVENT_CONCURRENCY: intFromEnv(2000),
  ALERTER_BATCH_MAX: intFromEnv(1000),
  /** How long a lone event waits for company before its transaction starts. */
  ALERTER_BATCH_WAIT_MS: z.coerce.number().int().nonnegative().default(2),
  ALERTER_COMMAND_CONCURRENCY: intFromEnv(4),
  ALERTER_DB_POOL_SIZE: intFromEnv(12),
  ALERTER_ACK_WAIT_MS: intFromEnv(30_000),
  /** How often time-based conditions (freshness, pending periods, keepFiringFor, silence ends) are evaluated. */
  ALERTER_EVAL_INTERVAL_MS: intFromEnv(15_000),
  /** How often due notification groups are flushed and queued deliveries attempted. */
  ALERTER_DISPATCH_INTERVAL_MS: intFromEnv(1_000),
  /** Base URL of the runbooks (docs/runbooks/x.md becomes <base>/docs/runbooks/x.md); empty keeps repository paths. */
  ALERTER_RUNBOOK_BASE_URL: z.string().default(''),
  /** The gateway's public URL: notifications link the alert's timeline under it. */
  ALERTER_EXTERNAL_URL: z.string().url().default('http://127.0.0.1:8080'),
  /** Runs the long window of a burn-rate tier must hold before it may page (minimum-volume guard). */
  ALERTER_BURN_MIN_VOLUME: intFromEnv(10),
  /** Built-in duration rule: earlier successful runs needed for a baseline, and the allowed deviation. */
  ALERTER_BASELINE_MIN_SAMPLES: intFromEnv(10),
  ALERTER_BASELINE_WINDOW: intFromEnv(50),
  ALERTER_BASELINE_MAX_DEVIATION: ratio(0.2),
  ALERTER_BASELINE_FOR_MS: z.coerce.number().int().nonnegative().default(10 * 60_000),
  /** Built-in circuit breaker: consecutive failed runs that raise `consecutive_failures`. */
  ALERTER_CONSECUTIVE_FAILURES: intFromEnv(3),
  /** Built-in step_success_rate: a step's attempts must succeed at least this often over the window (with at least the minimum attempts). */
  ALERTER_STEP_SUCCESS_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.9),
  ALERTER_STEP_WINDOW_MS: intFromEnv(60 * 60_000),
  ALERTER_STEP_MIN_SAMPLES: intFromEnv(10),
  /** Built-in step_duration_baseline: like the run baseline (ALERTER_BASELINE_*), per step; its own pending period. */
  ALERTER_STEP_BASELINE_FOR_MS: z.coerce.number().int().nonnegative().default(10 * 60_000),
  /** Built-in source_failure_rate: share of a source's fetches that may fail over the window (with at least the minimum fetches). */
  ALERTER_SOURCE_FAILURE_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.5),
  ALERTER_SOURCE_WINDOW_MS: intFromEnv(60 * 60_000),
  ALERTER_SOURCE_MIN_SAMPLES: intFromEnv(10),
  /** Built-in service_dead_letters: open dead letters of steps targeting one service (across workflows) that page. */
  ALERTER_SERVICE_DEAD_LETTERS: intFromEnv(5),
  /** Built-in consumer_lag: messages waiting on a durable consumer beyond which it lags, for how long. */
  ALERTER_CONSUMER_LAG_THRESHOLD: intFromEnv(1_000),
  ALERTER_CONSUMER_LAG_FOR_MS: z.coerce.number().int().nonnegative().default(5 * 60_000),
  /** Delivery retries on 429, 5xx and network errors. */
  ALERTER_DELIVERY_MAX_ATTEMPTS: intFromEnv(8),
  ALERTER_DELIVERY_BACKOFF_MS: intFromEnv(1_000),
  ALERTER_DELIVERY_MAX_BACKOFF_MS: intFromEnv(5 * 60_000),
  ALERTER_DELIVERY_TIMEOUT_MS: intFromEnv(10_000),
  /** Notifications of one receiver failing in a row before it raises `channel_failing`. */
  ALERTER_CHANNEL_FAILURE_THRESHOLD: intFromEnv(3),
  /** SMTP relay for email receivers (smtp://host:port); empty disables email. */
  ALERTER_SMTP_URL: z.string().default(''),
  ALERTER_EMAIL_FROM: z.string().default('steward-alerter@localhost'),
});

export type AlerterConfig = z.infer<typeof AlerterConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): AlerterConfig {
  return parseConfig(AlerterConfigSchema, env);
}
