import { DEFAULT_RETRY_POLICY, MAX_RETRY_AFTER_MS, nextRetry, retryDelay } from './index';

const policy = DEFAULT_RETRY_POLICY;

describe('retry policy', () => {
  it('by default retries after 30 s, 5 min and 30 min, as the seeds describe', () => {
    const delays = [1, 2, 3].map((attempt) => nextRetry({ policy, attempt, errorCode: 'http_503', random: 0 }));
    expect(delays).toEqual([
      { retry: true, delayMs: 30_000 },
      { retry: true, delayMs: 300_000 },
      { retry: true, delayMs: 1_800_000 },
    ]);
  });

  it('moves the item to the dead-letter queue after its retries are spent', () => {
    expect(nextRetry({ policy, attempt: 4, errorCode: 'http_503', random: 0 })).toEqual({ retry: false, reason: 'budget_exhausted' });
  });

  it('caps the delay at maxDelay however many retries are allowed', () => {
    const many = { ...policy, maxAttempts: 10 };
    expect(retryDelay(many, 3)).toBe(1_800_000);
    expect(nextRetry({ policy: many, attempt: 9, errorCode: 'x', random: 0 })).toEqual({ retry: true, delayMs: 1_800_000 });
  });

  it('follows the configured coefficient', () => {
    const doubling = { ...policy, maxAttempts: 5, backoff: 2, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelay(doubling, attempt))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000]);
  });

  it('jitter shortens a delay by up to its fraction, from the injected draw', () => {
    expect(nextRetry({ policy, attempt: 1, errorCode: 'x', random: 0.5 })).toEqual({ retry: true, delayMs: 27_000 });
    const almostOne = nextRetry({ policy, attempt: 3, errorCode: 'x', random: 0.999999 });
    expect(almostOne).toEqual({ retry: true, delayMs: 1_440_000 });
    expect(nextRetry({ policy: { ...policy, jitter: 0 }, attempt: 1, errorCode: 'x', random: 0.9 })).toEqual({ retry: true, delayMs: 30_000 });
  });

  it("waits at least as long as the source's Retry-After asked, also beyond maxDelay, up to a ceiling", () => {
    expect(nextRetry({ policy, attempt: 1, errorCode: 'http_429', random: 0, retryAfterMs: 120_000 })).toEqual({ retry: true, delayMs: 120_000 });
    expect(nextRetry({ policy, attempt: 2, errorCode: 'http_429', random: 0, retryAfterMs: 5_000 })).toEqual({ retry: true, delayMs: 300_000 });
    expect(nextRetry({ policy, attempt: 3, errorCode: 'http_503', random: 0, retryAfterMs: 3_600_000 })).toEqual({ retry: true, delayMs: 3_600_000 });
    expect(nextRetry({ policy, attempt: 1, errorCode: 'http_503', random: 0, retryAfterMs: 10 * 86_400_000 })).toEqual({ retry: true, delayMs: MAX_RETRY_AFTER_MS });
    // It does not buy extra attempts.
    expect(nextRetry({ policy, attempt: 4, errorCode: 'http_429', random: 0, retryAfterMs: 1_000 })).toEqual({ retry: false, reason: 'budget_exhausted' });
  });

  it('is deterministic: the same inputs give the same decision', () => {
    const input = { policy, attempt: 2, errorCode: 'x', random: 0.37 };
    expect(nextRetry(input)).toEqual(nextRetry(input));
  });

  it('never retries a non-retryable error code or an error the worker marked non-retryable', () => {
    const strict = { ...policy, nonRetryable: ['bad_credentials'] };
    expect(nextRetry({ policy: strict, attempt: 1, errorCode: 'bad_credentials', random: 0 })).toEqual({ retry: false, reason: 'non_retryable' });
    expect(nextRetry({ policy, attempt: 1, errorCode: 'resource_exhausted', retryable: false, random: 0 })).toEqual({ retry: false, reason: 'non_retryable' });
  });
});
