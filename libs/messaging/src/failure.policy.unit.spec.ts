import { IllegalStateError, StewardError, UnavailableError, ValidationError } from '@steward/contracts';
import { decideFailure, isPermanentError, retryDelayMs } from './failure.policy';

describe('retry policy', () => {
  const policy = { baseMs: 1_000, maxMs: 10_000 };

  it('doubles the nak delay with each delivery up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('uses explicit backoff steps when given and repeats the last one', () => {
    const withSteps = { ...policy, backoffMs: [100, 500] };
    expect([1, 2, 3].map((n) => retryDelayMs(n, withSteps))).toEqual([100, 500, 500]);
  });

  it('treats validation and illegal-state errors as permanent, others as transient', () => {
    expect(isPermanentError(new ValidationError('bad'))).toBe(true);
    expect(isPermanentError(new IllegalStateError('done already'))).toBe(true);
    expect(isPermanentError(new UnavailableError('db down'))).toBe(false);
    expect(isPermanentError(new StewardError('internal', 'boom'))).toBe(false);
    expect(isPermanentError(new Error('boom'))).toBe(false);
    expect(isPermanentError({ status: 'error', message: 'Internal server error' })).toBe(false);
  });

  it('dead-letters a permanent error on its first delivery', () => {
    expect(decideFailure(new ValidationError('bad'), 1, 5, policy)).toEqual({ action: 'dead_letter', reason: 'permanent_error' });
  });

  it('retries a transient error until the last allowed delivery, then dead-letters it', () => {
    expect(decideFailure(new Error('x'), 4, 5, policy)).toEqual({ action: 'retry', delayMs: 8_000 });
    expect(decideFailure(new Error('x'), 5, 5, policy)).toEqual({ action: 'dead_letter', reason: 'max_deliver_exhausted' });
  });

  it('never exhausts an unlimited consumer', () => {
    expect(decideFailure(new Error('x'), 100, -1, policy).action).toBe('retry');
  });
});
