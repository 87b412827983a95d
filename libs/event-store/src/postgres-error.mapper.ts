import { ConcurrencyError, IllegalStateError } from '@steward/contracts';
import { WRONG_EXPECTED_VERSION } from './schema.migrations';
import type { ExpectedVersion } from './append.validator';

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

function pgError(err: unknown): PgError {
  return typeof err === 'object' && err !== null ? (err as PgError) : {};
}

export function isUniqueViolationOn(err: unknown, constraint: string): boolean {
  const e = pgError(err);
  return e.code === '23505' && e.constraint === constraint;
}

/**
 * Turns the database's answer to a failed append into the error family.
 * `currentVersion` is only consulted for the race that the version check
 * could not see (both writers passed it, the unique index decided).
 */
export async function mapAppendError(
  err: unknown,
  streamId: string,
  expected: ExpectedVersion,
  currentVersion: () => Promise<number | null>,
): Promise<unknown> {
  const e = pgError(err);
  if (e.code === WRONG_EXPECTED_VERSION) {
    const actual = e.detail ? Number(e.detail) : null;
    return new ConcurrencyError(streamId, String(expected), actual);
  }
  if (isUniqueViolationOn(err, 'events_stream_version_key')) {
    return new ConcurrencyError(streamId, String(expected), await currentVersion().catch(() => null));
  }
  if (isUniqueViolationOn(err, 'events_pkey')) {
    const eventId = /\(event_id\)=\(([^)]+)\)/.exec(e.detail ?? '')?.[1];
    return new IllegalStateError(`event ${eventId ?? 'id'} is already stored`, { streamId, eventId });
  }
  return err;
}
