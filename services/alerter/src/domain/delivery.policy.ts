// What a receiver's answer means for at-least-once delivery: 2xx delivered;
// 429, 5xx and network errors retried with capped exponential backoff;
// any other status (400, 401, 404...) is our fault and retrying cannot help.

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

export function classifyAttempt(result: { status: number } | { error: string }): DeliveryOutcome {
  if ('error' in result) return 'retry';
  if (result.status >= 200 && result.status < 300) return 'delivered';
  if (result.status === 429 || result.status >= 500) return 'retry';
  return 'failed';
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  maxAttempts: number;
}

/** Delay before attempt `attempt + 1`: initial * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, p: BackoffPolicy): number {
  return Math.min(p.maxMs, p.initialMs * 2 ** Math.max(0, attempt - 1));
}
