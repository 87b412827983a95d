// When a failed attempt is tried again, and when it goes to the dead-letter
// queue instead. Pure: the random draw for jitter is an input.

export interface RetryPolicy {
  /**
   * Retries after the first failure. The seeds' budget, "3 attempts at 30 s,
   * 5 min, 30 min", names three delays, so the three attempts are the
   * retries: a step runs at most 1 + maxAttempts times and is dead-lettered
   * when the last retry fails.
   */
  maxAttempts: number;
  initialDelayMs: number;
  /** Each retry waits `backoff` times longer than the one before, up to maxDelayMs. */
  backoff: number;
  maxDelayMs: number;
  /** Fraction in [0, 1]: a delay is shortened by up to this much. */
  jitter: number;
  /** Error codes that go straight to the dead-letter queue. */
  nonRetryable: string[];
}

/**
 * 30 s x 10^0 = 30 s, 30 s x 10^1 = 5 min, 30 s x 10^2 = 50 min capped by
 * maxDelay to 30 min: exactly the seeds' 30 s, 5 min, 30 min with a single
 * coefficient, and any retry beyond the third would also wait 30 min.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 30_000,
  backoff: 10,
  maxDelayMs: 30 * 60_000,
  jitter: 0.2,
  nonRetryable: [],
});

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'budget_exhausted' | 'non_retryable' };

export interface NextRetryInput {
  policy: RetryPolicy;
  /** The attempt that just failed, 1 for the first run of the step (counted from its last requeue). */
  attempt: number;
  errorCode: string;
  /** The worker's own verdict; false means retrying cannot help. */
  retryable?: boolean;
  /** A draw in [0, 1), injected so the decision is reproducible. */
  random: number;
  /** The failed source asked to be left alone this long (HTTP Retry-After): the retry waits at least this. */
  retryAfterMs?: number;
}

/** A Retry-After beyond this is not honoured as asked: a source cannot park a step for days. */
export const MAX_RETRY_AFTER_MS = 6 * 60 * 60_000;

/** The nominal delay before retry number `retry` (1-based), before jitter. */
export function retryDelay(policy: RetryPolicy, retry: number): number {
  const raw = policy.initialDelayMs * Math.pow(policy.backoff, retry - 1);
  return Math.min(policy.maxDelayMs, raw);
}

export function nextRetry({ policy, attempt, errorCode, retryable, random, retryAfterMs }: NextRetryInput): RetryDecision {
  if (retryable === false || policy.nonRetryable.includes(errorCode)) return { retry: false, reason: 'non_retryable' };
  if (attempt > policy.maxAttempts) return { retry: false, reason: 'budget_exhausted' };
  const r = Math.min(Math.max(random, 0), 1);
  // Jitter only shortens: the cap stays a true upper bound and the default
  // schedule never waits longer than 30 s, 5 min, 30 min, yet retries of
  // many steps that failed together spread over the last fifth of each wait.
  const delayMs = Math.round(retryDelay(policy, attempt) * (1 - policy.jitter * r));
  // A source that said when to come back (429/503 Retry-After) is not asked sooner, even past maxDelay.
  const asked = retryAfterMs === undefined ? 0 : Math.min(Math.max(retryAfterMs, 0), MAX_RETRY_AFTER_MS);
  return { retry: true, delayMs: Math.max(delayMs, Math.round(asked)) };
}
