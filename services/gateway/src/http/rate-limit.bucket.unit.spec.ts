import { TokenBucketLimiter } from './rate-limit.bucket';

describe('token bucket rate limit', () => {
  it('allows the burst at once, then refuses with the seconds until one request is allowed again', () => {
    const limiter = new TokenBucketLimiter(2, 3);
    const t = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('a', t).ok)).toEqual([true, true, true]);
    expect(limiter.take('a', t)).toEqual({ ok: false, retryAfterSeconds: 1 });
    // Another key has its own bucket.
    expect(limiter.take('b', t).ok).toBe(true);
    // Half a second refills one request at 2/s.
    expect(limiter.take('a', t + 500).ok).toBe(true);
    expect(limiter.take('a', t + 500).ok).toBe(false);
  });

  it('says how long to wait when the rate is below one a second', () => {
    const limiter = new TokenBucketLimiter(0.25, 1);
    expect(limiter.take('a', 0).ok).toBe(true);
    expect(limiter.take('a', 0)).toEqual({ ok: false, retryAfterSeconds: 4 });
  });

  it('stays bounded when many keys appear, dropping refilled buckets first', () => {
    const limiter = new TokenBucketLimiter(10, 5, 100);
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`, i);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});
