import { cpus } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { BaseConfigSchema, parseConfig, Subjects } from '@steward/contracts';
import type { Logger, Metrics } from '@steward/observability';
import { z } from 'zod';
import { loadProfilesFile } from './environment.profile';
import { handlerDirsFromEnv, loadHandlers } from './handler.load';
import { DEFAULT_ISOLATE_MAX_ATTEMPTS } from './isolate.warm';
import { WorkerPool } from './worker.pool';

/** What a worker process reads from its environment (parsed once, fails naming every bad variable). */
export const WorkerConfigSchema = BaseConfigSchema.pick({ NATS_URL: true, STEWARD_NAMESPACE: true, LOG_LEVEL: true }).extend({
  /** Handler folders, `:`-separated; every `*.js` module in them is loaded. */
  STEWARD_HANDLERS: z.string().min(1, 'expected at least one handler folder'),
  /** Task queues served, comma-separated. */
  STEWARD_QUEUES: z
    .string()
    .default('default')
    .transform((s) => s.split(',').map((q) => q.trim()).filter((q) => q !== ''))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected lowercase queue names')).min(1, 'expected at least one queue')),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(Math.max(1, cpus().length)),
  WORKER_ID: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').optional(),
  /** A YAML or JSON file of environment profiles keyed by workflow id. */
  STEWARD_PROFILES: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** `warm` (default): task processes run many attempts in turn; `attempt`: a fresh process per attempt. */
  WORKER_ISOLATION: z.enum(['warm', 'attempt']).default('warm'),
  /** Warm isolation: attempts one task process runs before it is replaced. */
  WORKER_ISOLATE_MAX_ATTEMPTS: z.coerce.number().int().positive().default(DEFAULT_ISOLATE_MAX_ATTEMPTS),
});
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

export function parseWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return parseConfig(WorkerConfigSchema, env);
}

export interface RunningWorker {
  pool: WorkerPool;
  close(): Promise<void>;
}

/**
 * Builds and starts a pool from the config: what `worker.main` runs, and
 * what the executor can call with its own connection for the built-in pool.
 */
export async function startWorker(
  config: WorkerConfig,
  deps: { logger?: Logger; metrics?: Metrics; connection?: NatsConnection; secretSource?: Record<string, string | undefined> } = {},
): Promise<RunningWorker> {
  const handlers = loadHandlers(handlerDirsFromEnv(config.STEWARD_HANDLERS));
  const pool = new WorkerPool({
    ...(deps.connection ? { connection: deps.connection } : { natsUrl: config.NATS_URL }),
    subjects: new Subjects(config.STEWARD_NAMESPACE),
    queues: config.STEWARD_QUEUES,
    handlers,
    concurrency: config.WORKER_CONCURRENCY,
    isolation: config.WORKER_ISOLATION,
    isolateMaxAttempts: config.WORKER_ISOLATE_MAX_ATTEMPTS,
    ...(config.WORKER_ID !== undefined && { workerId: config.WORKER_ID }),
    ...(deps.logger && { logger: deps.logger }),
    ...(deps.metrics && { metrics: deps.metrics }),
    ...(deps.secretSource && { secretSource: deps.secretSource }),
    ...(config.STEWARD_PROFILES !== undefined && { profiles: loadProfilesFile(config.STEWARD_PROFILES) }),
  });
  await pool.start();
  return { pool, close: () => pool.close() };
}
