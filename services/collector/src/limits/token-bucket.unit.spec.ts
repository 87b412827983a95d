import { takeToken, type BucketState } from './token-bucket';

describe('token bucket', () => {
  const rate = { count: 10, perMs: 60_000 };

  it('starts full: a burst of the whole rate, then the next token after perMs/count', () => {
    let state: BucketState | undefined;
    for (let i = 0; i < 10; i++) {
      const r = takeToken(state, rate, 1_000);
      expect(r.granted).toBe(true);
      state = r.state;
    }
    const refused = takeToken(state, rate, 1_000);
    expect(refused).toEqual({ granted: false, state: { tokens: 0, at: 1_000 }, waitMs: 6_000 });
    expect(takeToken(refused.state, rate, 4_000)).toMatchObject({ granted: false, waitMs: 3_000 });
    expect(takeToken(refused.state, rate, 7_000)).toMatchObject({ granted: true, state: { tokens: 0, at: 7_000 } });
  });

  it('never holds more than its capacity after a long idle time', () => {
    const r = takeToken({ tokens: 0, at: 0 }, rate, 10 * 3_600_000);
    expect(r).toMatchObject({ granted: true, state: { tokens: 9 } });
  });

  it('refills nothing when the clock goes backwards', () => {
    const r = takeToken({ tokens: 0.5, at: 10_000 }, rate, 5_000);
    expect(r).toEqual({ granted: false, state: { tokens: 0.5, at: 10_000 }, waitMs: 3_000 });
  });
});
