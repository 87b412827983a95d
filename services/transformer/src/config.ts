import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';

const ROUTE = /^[a-z][a-z0-9_.-]{0,199}=[a-z][a-z0-9_-]{0,62}(@[1-9][0-9]{0,8})?$/;

const TransformerConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8085),
  /** Folders of transform modules (':'-separated, like STEWARD_HANDLERS). */
  TRANSFORMER_TRANSFORMS: z.string().default(''),
  /**
   * Sources transformed live without a workflow step naming the transform:
   * `source=name@version` (that version) or `source=name` (the version its
   * dataset currently has), comma-separated.
   */
  TRANSFORMER_ROUTES: z
    .string()
    .default('')
    .refine((v) => v.trim() === '' || v.split(',').every((r) => ROUTE.test(r.trim())), 'expected source=name[@version] pairs separated by commas'),
  /** Live captures (and transform steps) handled at once. */
  TRANSFORMER_EVENT_CONCURRENCY: intFromEnv(8),
  TRANSFORMER_COMMAND_CONCURRENCY: intFromEnv(4),
  /** Replay batches in flight at once: a separate consumer, so a backfill never delays live captures. */
  TRANSFORMER_REPLAY_CONCURRENCY: intFromEnv(2),
  /** Replayed captures fetched and committed together in one transaction. */
  TRANSFORMER_REPLAY_BATCH: intFromEnv(200),
  TRANSFORMER_DB_POOL_SIZE: intFromEnv(16),
  TRANSFORMER_ACK_WAIT_MS: intFromEnv(30_000),
});

export type TransformerConfig = z.infer<typeof TransformerConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): TransformerConfig {
  return parseConfig(TransformerConfigSchema, env);
}

/** `source=name[@version]` pairs of TRANSFORMER_ROUTES. */
export function parseRoutes(value: string): Map<string, { name: string; version?: number }> {
  const routes = new Map<string, { name: string; version?: number }>();
  for (const entry of value.split(',').map((r) => r.trim()).filter((r) => r !== '')) {
    const [source, ref] = entry.split('=') as [string, string];
    const [name, version] = ref.split('@') as [string, string | undefined];
    routes.set(source, { name, ...(version !== undefined && { version: Number(version) }) });
  }
  return routes;
}
