import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

// Environment profiles: the variables a workflow's handlers see. Values are
// plain strings or `{ secretRef: NAME }`, resolved from the WORKER's own
// environment (`STEWARD_SECRET_<NAME>`), so secrets never appear in a
// definition, an event or a log, and each team's worker holds only its own.

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const valueSchema = z.union([z.string(), z.number().transform(String), z.boolean().transform(String), z.strictObject({ secretRef: z.string().min(1).max(200) })]);
const profileSchema = z.strictObject({ env: z.record(z.string().regex(VAR_NAME, 'expected an environment variable name'), valueSchema).default({}) });

/** Keyed by workflow id; `'*'` applies to every workflow, under the workflow's own profile. */
export const ProfilesSchema = z.record(z.string().min(1), profileSchema);
export type EnvironmentProfiles = z.input<typeof ProfilesSchema>;
type ParsedProfiles = z.output<typeof ProfilesSchema>;

export interface ResolvedEnvironment {
  /** Every variable the child gets from its profile (plain and secret). */
  env: Record<string, string>;
  /** The secret values, for scrubbing logs and error messages. */
  secrets: string[];
}

export class SecretMissingError extends Error {
  readonly code = 'secret_missing';
  constructor(readonly variable: string, readonly secretRef: string) {
    super(`variable ${variable} references secret "${secretRef}", which this worker does not hold (set ${secretEnvName(secretRef)})`);
  }
}

export function secretEnvName(secretRef: string): string {
  return `STEWARD_SECRET_${secretRef.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function parseProfiles(raw: unknown): ParsedProfiles {
  return ProfilesSchema.parse(raw ?? {});
}

/** Reads profiles from a YAML or JSON file (STEWARD_PROFILES). */
export function loadProfilesFile(path: string): ParsedProfiles {
  return parseProfiles(parseYaml(readFileSync(path, 'utf8')));
}

export class EnvironmentProfileResolver {
  private readonly profiles: ParsedProfiles;

  constructor(
    profiles: EnvironmentProfiles = {},
    /** Where secret references are looked up; the worker's own environment by default. */
    private readonly secretSource: Record<string, string | undefined> = process.env,
  ) {
    this.profiles = parseProfiles(profiles);
  }

  /** Throws SecretMissingError naming the variable and reference (never a value). */
  resolve(workflowId: string): ResolvedEnvironment {
    const merged = { ...this.profiles['*']?.env, ...this.profiles[workflowId]?.env };
    const env: Record<string, string> = {};
    const secrets: string[] = [];
    for (const [name, value] of Object.entries(merged)) {
      if (typeof value === 'string') {
        env[name] = value;
        continue;
      }
      const secret = this.secretSource[secretEnvName(value.secretRef)];
      if (secret === undefined || secret === '') throw new SecretMissingError(name, value.secretRef);
      env[name] = secret;
      secrets.push(secret);
    }
    return { env, secrets };
  }
}

/**
 * Replaces every occurrence of a secret value in text. Key-based redaction
 * (the logger's) cannot know that `ctx.env.PRICES_TOKEN` printed under any
 * name is a secret; the values themselves can. Very short values are skipped
 * because masking "1" everywhere would destroy logs without protecting much.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}

/** Deep scrub of a JSON value (log fields, error messages). */
export function scrubValue<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  return JSON.parse(scrubSecrets(JSON.stringify(value), secrets)) as T;
}
