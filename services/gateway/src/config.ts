import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';
import { isAcceptableBootstrapToken } from './auth/token.format';

const SIZE = /^(\d+)(b|kb|mb)$/i;
const UNIT = { b: 1, kb: 1024, mb: 1024 * 1024 } as const;

/** An unset variable and an empty one mean the same: compose files often pass `VAR=`. */
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const GatewayConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8080),
  /** Reads (timeline, verify) may use a read-only role; defaults to DATABASE_URL. */
  DATABASE_READ_URL: optionalString.pipe(z.string().url().optional()),
  /**
   * Every read statement (timeline, runs, datasets and their diffs, costs,
   * verify) is cancelled by Postgres past this: one operator's wide read must
   * not hold a connection and a snapshot for minutes.
   */
  READ_STATEMENT_TIMEOUT_MS: intFromEnv(30_000),
  STEWARD_BOOTSTRAP_TOKEN: optionalString.refine((v) => v === undefined || isAcceptableBootstrapToken(v), {
    message: 'expected stw_<16 hex>_<secret> or any string of at least 24 characters',
  }),
  /** How long an operator command waits for the owning service's outcome before answering 202. */
  COMMAND_TIMEOUT_MS: intFromEnv(5000),
  RATE_LIMIT_RPS: intFromEnv(20),
  RATE_LIMIT_BURST: intFromEnv(60),
  BODY_LIMIT: z
    .string()
    .regex(SIZE, 'expected a size like 512kb or 1mb')
    .default('1mb')
    .transform((label) => {
      const [, n, unit] = SIZE.exec(label)!;
      return { label: label.toLowerCase(), bytes: Number(n) * UNIT[unit!.toLowerCase() as keyof typeof UNIT] };
    }),
  /** scrypt costs tens of milliseconds; a verified token is trusted this long (revocation on this replica is immediate). */
  TOKEN_CACHE_TTL_MS: intFromEnv(10_000),
  TIMELINE_STREAM_POLL_MS: intFromEnv(500),
  TIMELINE_STREAM_KEEPALIVE_MS: intFromEnv(15_000),
  /** The relay checkpoint verify compares the stream against. */
  RELAY_NAME: z.string().regex(/^[a-z0-9_-]+$/).default('relay'),
  /** verify fails the relay-lag check when the oldest unpublished event is older than this. */
  VERIFY_MAX_RELAY_LAG_MS: intFromEnv(60_000),
});

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseConfig(GatewayConfigSchema, env);
}
