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
  /** Parallel event and command handlers per replica. */
  CONSUMER_CONCURRENCY: intFromEnv(8),
});

export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): SchedulerConfig {
  return parseConfig(SchedulerConfigSchema, env);
}
