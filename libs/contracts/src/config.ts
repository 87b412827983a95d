import { z } from 'zod';
import { ValidationError } from './errors';

/**
 * Parses environment variables once at start. Fails fast with every bad
 * variable named, so a misconfigured deployment says exactly what to fix.
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(env)',
    message: i.message,
  }));
  throw new ValidationError(
    `invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}

/** Variables every Steward process reads (DESIGN.md, operator contract). */
export const BaseConfigSchema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/steward'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  STEWARD_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and - only')
    .default(''),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  MIGRATE_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** How often a service looks for `steward replay start --rebuild <it>` replays (services that rebuild their projections). */
  REBUILD_POLL_MS: z.coerce.number().int().positive().default(5_000),
  /** How long one rebuild waits for its whole replay to arrive. */
  REBUILD_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
});

/** A positive integer read from an env var string. */
export const intFromEnv = (def: number) => z.coerce.number().int().positive().default(def);
