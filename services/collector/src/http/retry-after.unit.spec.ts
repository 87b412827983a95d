import { parseRetryAfter } from './retry-after';

describe('Retry-After', () => {
  const now = new Date('2026-12-01T09:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP-date as the time left until then, never negative', () => {
    expect(parseRetryAfter('Tue, 01 Dec 2026 09:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 08:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read instead of retrying at once', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('2026-12-01T09:00:30', now)).toBeUndefined();
  });
});
