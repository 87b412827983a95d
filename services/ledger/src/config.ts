import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';

const LedgerConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8081),
  /** Events read and published per round; publishes within a round are pipelined. */
  RELAY_BATCH_SIZE: intFromEnv(500),
  /** Fallback poll when no NOTIFY arrives (lost notification, listener reconnect). */
  RELAY_POLL_MS: intFromEnv(1000),
  /** How often a standby replica retries the relay's advisory lock. */
  RELAY_LOCK_RETRY_MS: intFromEnv(1000),
  RELAY_NAME: z.string().regex(/^[a-z0-9_-]+$/).default('relay'),
});

export type LedgerConfig = z.infer<typeof LedgerConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  return parseConfig(LedgerConfigSchema, env);
}
