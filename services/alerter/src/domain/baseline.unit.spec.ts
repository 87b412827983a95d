import { judgeDuration, median } from './baseline';

describe('duration baseline (seeds: alert beyond 20% of the baseline)', () => {
  const samples = [1000, 1000, 1000, 1000, 1000];

  it('takes the median, robust to one outlier', () => {
    expect(median([1, 100, 2])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(() => median([])).toThrow('median of no values');
  });

  it('flags a run more than 20% slower or faster', () => {
    expect(judgeDuration({ samples, latestMs: 1201, minSamples: 5, maxDeviation: 0.2 })).toMatchObject({ status: 'deviates', baselineMs: 1000, direction: 'slower' });
    expect(judgeDuration({ samples, latestMs: 799, minSamples: 5, maxDeviation: 0.2 })).toMatchObject({ status: 'deviates', direction: 'faster' });
  });

  it('accepts exactly 20% off', () => {
    expect(judgeDuration({ samples, latestMs: 1200, minSamples: 5, maxDeviation: 0.2 })).toMatchObject({ status: 'within' });
  });

  it('has no baseline below the minimum sample count', () => {
    expect(judgeDuration({ samples: samples.slice(0, 4), latestMs: 9000, minSamples: 5, maxDeviation: 0.2 })).toEqual({ status: 'insufficient_samples', samples: 4 });
  });
});
