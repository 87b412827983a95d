import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';

const SchedulerConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8082),
  /** How often due occurrences and timers are looked for; also the timer precision. */
  SCHEDULER_TICK_MS: intFromEnv(1000),
  /**
   * An occurrence at most this late counts as on time and always fires; an
   * older one is "missed" and follows its catchup policy. Must cover a slow
   * tick (GC, a busy database) so a hiccup is not mistaken for an outage.
   */
  SCHEDULE_GRACE_MS: intFromEnv(30_000),
  /** Due timers fired per transaction; a backlog drains over a few ticks. */
  TIMER_BATCH_SIZE: intFromEnv(200),
  /** Parallel command handlers per replica (each holds a connection for its transaction). */
  CONSUMER_CONCURRENCY: intFromEnv(8),
  /**
   * Events handled at once per replica. Most hold no connection: trigger
   * lookups of events handled together share one statement, and timer
   * requests share transactions (at most two at a time), so this is also
   * the largest such batch.
   */
  SCHEDULER_EVENT_CONCURRENCY: intFromEnv(32),
  /**
   * start_run commands taken at once beyond CONSUMER_CONCURRENCY; those
   * waiting together share one transaction and one append (no savepoint
   * each: a refusal fails the batch, retried a command at a time).
   */
  SCHEDULER_COMMAND_BATCH: intFromEnv(64),
  /**
   * How often a replica looks for `on:` trigger types applied by another
   * replica (or a rebuild) and binds their durables. Their events wait in
   * the durable meanwhile, and the applying replica binds at once.
   */
  SCHEDULER_TRIGGER_REFRESH_MS: intFromEnv(5_000),
  /** How long a lone timer request or start_run waits for others to share its transaction. */
  SCHEDULER_BATCH_WAIT_MS: z.coerce.number().int().nonnegative().default(2),
});

export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): SchedulerConfig {
  return parseConfig(SchedulerConfigSchema, env);
}
