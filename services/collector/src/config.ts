import { z } from 'zod';
import { BaseConfigSchema, intFromEnv, parseConfig } from '@steward/contracts';
import { parseCidrList } from './http/cidr';

const cidrs = z
  .string()
  .default('')
  .superRefine((v, ctx) => {
    try {
      parseCidrList(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

const CollectorConfigSchema = BaseConfigSchema.extend({
  PORT: intFromEnv(8084),
  /** Collect steps handled at once by this replica (each may wait on a rate limit or a Retry-After). */
  COLLECTOR_CONCURRENCY: intFromEnv(8),
  COLLECTOR_DB_POOL_SIZE: intFromEnv(8),
  /** JetStream ack wait; long fetches are kept alive with working() by the transport. */
  COLLECTOR_ACK_WAIT_MS: intFromEnv(30_000),
  /** Deliveries of one step.queued, including those nak'd while a source's limit was exhausted. */
  COLLECTOR_MAX_DELIVER: intFromEnv(50),
  /** Bodies up to this size are kept inline in the event (utf8 text or base64), larger ones as blobs. */
  COLLECTOR_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    // base64 grows a body by a third and an event holds at most 1 MiB.
    .max(512 * 1024, 'at most 524288 (an event holds at most 1 MiB, base64 included)')
    .default(64 * 1024),
  /** Default and ceiling of a step's maxBodySize. */
  COLLECTOR_MAX_BODY_BYTES: intFromEnv(50 * 1024 * 1024),
  /** Default time for one request (connect to last byte, all redirects) when the step sets none. */
  COLLECTOR_REQUEST_TIMEOUT_MS: intFromEnv(30_000),
  /** Default redirects followed when the step sets none. */
  COLLECTOR_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  /** Comma-separated CIDRs a fetch may reach although loopback/private/link-local (tests: 127.0.0.0/8). */
  COLLECTOR_ALLOW_CIDRS: cidrs,
  /** Folders file sources may read (':'-separated); empty refuses every file source. */
  COLLECTOR_FILE_ROOTS: z.string().default(''),
  /** Folders of custom collector handler modules (':'-separated), loaded like STEWARD_HANDLERS. */
  COLLECTOR_HANDLERS: z.string().default(''),
  /** YAML or JSON environment profiles for custom handlers, keyed by workflow id (the worker's STEWARD_PROFILES format). */
  COLLECTOR_PROFILES: z.string().optional(),
  /** Heap cap of a custom handler's child process. */
  COLLECTOR_HANDLER_MEMORY_MB: intFromEnv(256),
  /** How long a step waits in place for a rate-limit token or concurrency slot before it is nak'd with the remaining delay. */
  COLLECTOR_LIMIT_MAX_WAIT_MS: z.coerce.number().int().min(0).default(5_000),
  /** How long a Retry-After may be waited out inside one attempt (if the attempt's time allows), before the attempt fails transient. */
  COLLECTOR_RETRY_AFTER_MAX_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  /** In-attempt retries after 429/503 with a Retry-After that fits. */
  COLLECTOR_RETRY_AFTER_MAX_TRIES: z.coerce.number().int().min(0).max(10).default(2),
  COLLECTOR_USER_AGENT: z.string().min(1).max(200).default('steward-collector/0.1'),
});

export type CollectorConfig = z.infer<typeof CollectorConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): CollectorConfig {
  return parseConfig(CollectorConfigSchema, env);
}
