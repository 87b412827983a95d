import type { DeadLetterReason } from './dead-letter.publisher';

export interface RetryPolicy {
  /** Explicit nak delays by delivery (1st failure -> [0], ...); the last one repeats. */
  backoffMs?: number[];
  /** Otherwise exponential: base * 2^(delivery-1), capped. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1_000, maxMs: 60_000 };

export function retryDelayMs(deliveryCount: number, policy: RetryPolicy): number {
  const attempt = Math.max(1, deliveryCount);
  if (policy.backoffMs && policy.backoffMs.length > 0) {
    return policy.backoffMs[Math.min(attempt, policy.backoffMs.length) - 1]!;
  }
  return Math.min(policy.baseMs * 2 ** (attempt - 1), policy.maxMs);
}

const PERMANENT_CODES = new Set(['validation', 'illegal_state']);

/**
 * A validation or illegal-state error will fail the same way on every retry,
 * so it goes to the DLQ at once. Duck-typed on `code` so an error from a
 * second copy of @steward/contracts (dist vs src) still counts.
 */
export function isPermanentError(err: unknown): boolean {
  return err instanceof Error && PERMANENT_CODES.has(String((err as { code?: unknown }).code));
}

export type FailureDecision =
  | { action: 'retry'; delayMs: number }
  | { action: 'dead_letter'; reason: DeadLetterReason };

/** `maxDeliver` <= 0 means unlimited (JetStream's -1). */
export function decideFailure(err: unknown, deliveryCount: number, maxDeliver: number, policy: RetryPolicy): FailureDecision {
  if (isPermanentError(err)) return { action: 'dead_letter', reason: 'permanent_error' };
  if (maxDeliver > 0 && deliveryCount >= maxDeliver) return { action: 'dead_letter', reason: 'max_deliver_exhausted' };
  return { action: 'retry', delayMs: retryDelayMs(deliveryCount, policy) };
}
