/** A per-source rate: `count` fetches per `perMs`, as parsed from `rateLimit: 10/min`. */
export interface Rate {
  count: number;
  perMs: number;
}

/** Bucket state as kept in `collector_source_limits`: tokens at the instant `at` (ms since epoch). */
export interface BucketState {
  tokens: number;
  at: number;
}

export type TakeResult = { granted: true; state: BucketState } | { granted: false; state: BucketState; waitMs: number };

/**
 * Token bucket: capacity `count` (a burst of the whole rate is allowed),
 * refilled continuously at count/perMs. Pure, so every replica that holds
 * the row lock computes the same answer from the row. A clock that went
 * backwards refills nothing rather than draining the bucket.
 */
export function takeToken(state: BucketState | undefined, rate: Rate, now: number): TakeResult {
  const capacity = rate.count;
  const perToken = rate.perMs / rate.count;
  const start = state ?? { tokens: capacity, at: now };
  const elapsed = Math.max(0, now - start.at);
  const tokens = Math.min(capacity, start.tokens + elapsed / perToken);
  const at = Math.max(now, start.at);
  if (tokens >= 1 - 1e-9) return { granted: true, state: { tokens: Math.max(0, tokens - 1), at } };
  return { granted: false, state: { tokens, at }, waitMs: Math.ceil((1 - tokens) * perToken) };
}
