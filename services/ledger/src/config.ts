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
  /** Events read and published per page; active replays take turns a page at a time. */
  LEDGER_REPLAY_PAGE_SIZE: intFromEnv(500),
  /** A replay.progressed event at most every this many events ... */
  LEDGER_REPLAY_PROGRESS_EVERY: intFromEnv(1000),
  /** ... or every this many ms, whichever comes first. */
  LEDGER_REPLAY_PROGRESS_MS: intFromEnv(2000),
  /** How often the replay publisher looks for new replays and completions when idle. */
  LEDGER_REPLAY_POLL_MS: intFromEnv(1000),
  /** Replays pause while the relay is more than this many positions behind the store head. */
  LEDGER_REPLAY_RELAY_LAG_LIMIT: intFromEnv(1000),
  /** How long a paused replay waits before looking at the relay again. */
  LEDGER_REPLAY_YIELD_MS: intFromEnv(50),
  /** Ack wait of the ledger's command consumer (start_replay, cancel_replay). */
  LEDGER_COMMAND_ACK_WAIT_MS: intFromEnv(30_000),
});

export type LedgerConfig = z.infer<typeof LedgerConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  return parseConfig(LedgerConfigSchema, env);
}
