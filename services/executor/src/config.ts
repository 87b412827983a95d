import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';
import { DEFAULT_ISOLATE_MAX_ATTEMPTS } from '@steward/worker';

const nonNegativeInt = (def: number) => z.coerce.number().int().nonnegative().default(def);

const ExecutorConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8083),
  /** Messages handled at once per consumer; handleCommand retries on stream conflicts, so > 1 is safe. */
  EXECUTOR_EVENT_CONCURRENCY: intFromEnv(8),
  /**
   * Run requests taken at once; those waiting together share one
   * transaction (at most two such transactions at a time), so this is the
   * largest batch: one inbox statement, one append and one row insert for
   * all of them. They hold no connection while they wait.
   */
  EXECUTOR_RUN_REQUEST_BATCH: intFromEnv(64),
  /**
   * Worker reports (started, heartbeat, result) taken at once beyond
   * EXECUTOR_COMMAND_CONCURRENCY; those waiting together share one
   * transaction, one read of their runs, one append and one update of the
   * runs they end. No savepoint per report: a refused one fails the batch,
   * which is then retried a report at a time, so a larger batch makes a
   * refusal dearer.
   */
  EXECUTOR_REPORT_BATCH: intFromEnv(32),
  /** How long a lone run request waits for others to share its transaction. */
  EXECUTOR_BATCH_WAIT_MS: nonNegativeInt(2),
  EXECUTOR_COMMAND_CONCURRENCY: intFromEnv(8),
  /**
   * How long a queued attempt may wait for a worker before it times out
   * (schedule-to-start), for steps whose definition sets no
   * `scheduleToStart`; 0 disables the default. It guards against a task
   * queue nobody serves, by a sweep of the projection (QueuedStepSweep),
   * not a timer per attempt.
   */
  EXECUTOR_SCHEDULE_TO_START_MS: nonNegativeInt(60 * 60_000),
  /** How often the schedule-to-start default is swept for (ms): the guard is at most this late. */
  EXECUTOR_QUEUE_SWEEP_MS: intFromEnv(30_000),
  /** Runs (and step runs) a duration baseline is computed over. */
  EXECUTOR_BASELINE_WINDOW: intFromEnv(50),
  /**
   * Report batches refresh a workflow's baselines at most this often per
   * replica (ms); successes in between are counted when it ends. 0: every
   * batch.
   */
  EXECUTOR_BASELINE_INTERVAL_MS: nonNegativeInt(1_000),
  /**
   * Opened on demand. Each command or timer handler holds one connection
   * (and a lost append race briefly a second); batches hold one each.
   */
  EXECUTOR_DB_POOL_SIZE: intFromEnv(32),
  /** JetStream ack wait of the executor's consumers: how soon a crashed replica's messages go to another. */
  EXECUTOR_ACK_WAIT_MS: intFromEnv(30_000),
  /** Folders of task handler modules for the built-in worker pool (':'-separated); empty runs no pool. */
  STEWARD_HANDLERS: z.string().default(''),
  /** Task queues the built-in pool serves. */
  EXECUTOR_WORKER_QUEUES: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*(,[a-z][a-z0-9_-]*)*$/, 'comma-separated queue names')
    .default('default'),
  /** Task attempts the built-in pool runs at once, each in its own task process. */
  EXECUTOR_WORKER_CONCURRENCY: intFromEnv(2),
  /** `warm`: task processes run many attempts of one handler module in turn; `attempt`: a fresh process per attempt (docs/workers.md). */
  EXECUTOR_WORKER_ISOLATION: z.enum(['warm', 'attempt']).default('warm'),
  /** Warm isolation: attempts one task process runs before it is replaced. */
  EXECUTOR_WORKER_ISOLATE_MAX_ATTEMPTS: intFromEnv(DEFAULT_ISOLATE_MAX_ATTEMPTS),
});

export type ExecutorConfig = z.infer<typeof ExecutorConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): ExecutorConfig {
  return parseConfig(ExecutorConfigSchema, env);
}
