import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and `undefined` members left
 * out, so two equal values always serialise to the same text whatever order
 * their keys were built in. Non-finite numbers are refused: JSON would turn
 * them into null and two different requests could then share a fingerprint.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot fingerprint the non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`cannot fingerprint a ${typeof value}`);
}

export interface FingerprintParts {
  source: string;
  /** The request as resolved from the spec, WITHOUT secret values (a rotated secret must not change the key). */
  request: unknown;
  /** The run's inputs. */
  inputs: Record<string, unknown>;
  /** The run's occurrence time when it has one (scheduled runs), else undefined. */
  scheduledAt?: string;
  /** Stands in for the scheduled time of runs without an occurrence (manual and event runs). */
  runId: string;
}

/**
 * The capture's idempotency key: sha-256 over source, request, inputs and
 * the scheduled occurrence (or the run id). The attempt number is left out
 * on purpose: a retried or redelivered attempt of the same step occurrence
 * must find the capture an earlier attempt kept instead of fetching again.
 */
export function fingerprintOf(parts: FingerprintParts): string {
  const occurrence = parts.scheduledAt !== undefined ? { at: new Date(parts.scheduledAt).toISOString() } : { runId: parts.runId };
  const text = canonicalJson({ v: 1, source: parts.source, request: parts.request, inputs: parts.inputs, occurrence });
  return createHash('sha256').update(text).digest('hex');
}
